// A flaky link that gets one telemetry sample through every 600 ms (period 100 ms, stale hold after
// 500 ms): the session pauses once and stays paused, instead of resuming on every sample that gets
// through and jerking the table between hold and motion. It resumes once telemetry has been on time for
// the supervisor's staleClearPeriods. All in virtual time.
import { describe, expect, it } from "vitest";
import type { VirtualClock } from "../../protocol/index.js";
import { parseProgram } from "../../src/programs/schema.js";
import { DEFAULT_THRESHOLDS } from "../../src/safety/supervisor.js";
import { startHarness, type Harness } from "./harness.js";

const QUICK = { restS: 5, pauseS: 2 };
const PERIOD = 100;
const CLEAR_MS = DEFAULT_THRESHOLDS.staleClearPeriods * PERIOD;
// A long climb, so that a resumed move is still under way while the link flaps.
const program = parseProgram({ name: "climb", steps: [{ type: "ramp", to: 40, speed: 2 }, { type: "hold", seconds: 120 }] });

/**
 * Cuts the link except for `upMs` out of every `cycleMs` until stopped. The device's watchdog is
 * longer than the gaps this leaves between the companion's heartbeats, so only the telemetry suffers.
 */
function flap(clock: VirtualClock, h: Harness, cycleMs: number, upMs: number): () => void {
  let on = true;
  const cycle = (): void => {
    if (!on) return;
    h.simLink.faults.down = true;
    clock.setTimeout(() => {
      if (!on) return;
      h.simLink.faults.down = false;
      clock.setTimeout(cycle, upMs);
    }, cycleMs - upMs);
  };
  cycle();
  return () => {
    on = false;
    h.simLink.faults.down = false;
  };
}

describe("a flaky link during a move", () => {
  it("pauses the session once and resumes only after telemetry has been on time for staleClearPeriods", async () => {
    const h = startHarness(program, { session: { ret: QUICK }, simConfig: { tilt: QUICK, watchdogMs: 3000 } });
    expect(h.runUntilState(/^running\.ramp/)).toBe(true);
    h.clock.advance(3000);
    const before = h.states.length;
    const stop = flap(h.clock, h, 600, 100);
    h.clock.advance(10_000);
    const during = h.states.slice(before);
    // Before: paused > running.ramp > paused > running.ramp > ...: every sample that got through resumed the move.
    expect(during.filter((s) => s.startsWith("paused")).length, during.join(" > ")).toBe(1);
    expect(during.filter((s) => s.startsWith("running")), during.join(" > ")).toEqual([]);
    expect(h.snapshot().pausedBy).toBe("supervisor");
    expect(h.snapshot().safety).toBe("hold");

    stop();
    const backAt = h.clock.now();
    expect(h.clock.runUntil(() => h.snapshot().phase === "running", 5000), h.states.join(" > ")).toBe(true);
    const resumedAt = h.clock.now();
    // The first sample after the link is back arrives within a period; the hold lasts the on-time run.
    expect(resumedAt - backAt).toBeGreaterThanOrEqual(CLEAR_MS);
    expect(resumedAt - backAt).toBeLessThanOrEqual(CLEAR_MS + 2 * PERIOD);
    expect(h.finish()).toBe(true);
    expect((await h.session.done).outcome).toBe("completed");
  });
});
