// Telemetry is as old as the data it carries: frames that keep arriving with a device time that no
// longer moves (a hung firmware loop resending its last frame, a relay replaying it) are stale.
import { describe, expect, it } from "vitest";
import { supervise, type SafetyDecision, type SupervisorMemory } from "../../src/safety/supervisor.js";
import { PERIOD, observe, sample } from "./holding.js";



/** Judges each arriving frame as the session does: at its arrival, with the memory of the last call. */
function judgeArrivals(frames: { at: number; t: number }[]): SafetyDecision[] {
  let memory: SupervisorMemory = {};
  return frames.map((f, i) => {
    const d = supervise(f.at, observe(sample(f.t, { seq: i }), f.at), memory);
    memory = d.memory;
    return d;
  });
}

describe("stale telemetry judged by the device's own time", () => {
  it("holds when frames keep arriving but the device time stands still", () => {
    // Fresh for one second, then the same sample over and over.
    const frames = Array.from({ length: 20 }, (_, i) => ({ at: 1000 + i * PERIOD, t: 5000 + Math.min(i, 9) * PERIOD }));
    const d = judgeArrivals(frames);
    expect(d.slice(0, 10).map((x) => x.action)).toEqual(Array(10).fill("none"));
    // Frame 9 carried device time 5900; by frame 12 that is 300 ms old, by frame 15 600 ms.
    expect(d[11].action).toBe("none");
    expect(d[12].action).toBe("warn");
    expect(d[15].action).toBe("hold");
    expect(d[15].findings.find((f) => f.check === "stale")?.message).toMatch(/600 ms old.*device time stuck at 5900/);
    expect(d[19].action).toBe("hold");
  });

  it("clears once the device time has moved on for long enough, and a reboot's restart at 0 counts as new data", () => {
    const frames = [
      ...Array.from({ length: 10 }, (_, i) => ({ at: 1000 + i * PERIOD, t: 7000 })),
      { at: 2000, t: 7100 },
      // Device times from 0: the device rebooted.
      ...Array.from({ length: 11 }, (_, i) => ({ at: 2100 + i * PERIOD, t: i * PERIOD })),
    ];
    const d = judgeArrivals(frames);
    expect(d[9].action).toBe("hold");
    // On time from 2000 on: the hold lasts until that has lasted staleClearPeriods (10 periods).
    expect(d.slice(10, 20).map((x) => x.action)).toEqual(Array(10).fill("hold"));
    expect(d.slice(20).map((x) => x.action)).toEqual(["none", "none"]);
  });

  it("names the staleness time by the first arrival of the data, so a periodic caller rechecks in time", () => {
    const first = supervise(1000, observe(sample(42, { seq: 0 }), 1000));
    const again = supervise(1200, observe(sample(42, { seq: 1 }), 1200), first.memory);
    expect(again.action).toBe("none");
    expect(again.recheckAt).toBe(1000 + 2.5 * PERIOD);
  });
});
