// The supervisor is a pure function: every test gives explicit timestamps and observations.
import { describe, expect, it } from "vitest";
import type { TelemetryMsg } from "../../protocol/index.js";
import { mostSevere, supervise, type Observed, type SupervisorMemory } from "../../src/safety/supervisor.js";

function tlm(over: Partial<TelemetryMsg> = {}): TelemetryMsg {
  return { v: 1, seq: 0, type: "tlm", t: 0, tilt: 20, tilt2: 20, vel: 0, force: 0, current: 1, lock: true, sw: "ok", mode: "holding", faults: [], rxErr: 0, ...over };
}

function obs(over: Partial<Observed> = {}, t: Partial<TelemetryMsg> = {}): Observed {
  return {
    expect: { phase: "holding", tiltTarget: 20 },
    limits: { tiltMin: -80, tiltMax: 45, speedMax: 10, forceMax: 300 },
    upright: -80,
    tlm: tlm(t),
    tlmAt: 1000,
    tlmPeriodMs: 100,
    link: "up",
    discomfort: false,
    ...over,
  };
}

/** Runs the supervisor over a sequence of (time, observation) and returns the actions. */
function run(steps: [number, Observed][]): string[] {
  let mem: SupervisorMemory = {};
  return steps.map(([t, o]) => {
    const d = supervise(t, o, mem);
    mem = d.memory;
    return d.action;
  });
}

describe("supervise", () => {
  it("is quiet when everything matches the plan", () => {
    const d = supervise(1000, obs());
    expect(d.action).toBe("none");
    expect(d.findings).toEqual([]);
  });

  it("orders actions by severity", () => {
    expect(mostSevere("warn", "return")).toBe("return");
    expect(mostSevere("handed-to-firmware", "return-reduced-speed")).toBe("handed-to-firmware");
    expect(mostSevere("hold", "none")).toBe("hold");
  });

  it("returns at once on discomfort", () => {
    expect(supervise(1000, obs({ discomfort: true })).action).toBe("return");
  });

  it("hands over to the firmware on a lost link, and the most severe finding wins", () => {
    const d = supervise(1000, obs({ link: "lost", discomfort: true }));
    expect(d.action).toBe("handed-to-firmware");
    expect(d.findings.map((f) => f.check).sort()).toEqual(["discomfort", "link"]);
  });

  it("returns when the tilt goes past the effective head-down limit", () => {
    expect(supervise(1000, obs({ expect: { phase: "holding", tiltTarget: 45 } }, { tilt: 45.5, tilt2: 45.5 })).action).toBe("none");
    const d = supervise(1000, obs({ expect: { phase: "moving", tiltFrom: 20, tiltTarget: 45 } }, { tilt: 46.2, tilt2: 46.2 }));
    expect(d.action).toBe("return");
    expect(d.findings[0].check).toBe("tilt-limit");
  });

  it("does not treat upright as below a soft tiltMin above it", () => {
    const o = obs({ limits: { tiltMin: 0, tiltMax: 45, speedMax: 10, forceMax: 300 }, expect: { phase: "idle" } }, { tilt: -80, tilt2: -80 });
    expect(supervise(1000, o).action).toBe("none");
  });

  it("returns when the force exceeds the limit plus margin", () => {
    expect(supervise(1000, obs({}, { force: 304 })).action).toBe("none");
    expect(supervise(1000, obs({}, { force: 306 })).action).toBe("return");
  });

  it("warns on overspeed at once and returns at reduced speed only after it lasts 200 ms", () => {
    const fast = obs({ expect: { phase: "moving", tiltFrom: 0, tiltTarget: 40 } }, { vel: 11.6 });
    expect(run([[1000, fast], [1150, fast], [1200, fast]])).toEqual(["warn", "warn", "return-reduced-speed"]);
    // An interruption restarts the delay.
    const ok = obs({ expect: { phase: "moving", tiltFrom: 0, tiltTarget: 40 } }, { vel: 9 });
    expect(run([[1000, fast], [1100, ok], [1250, fast], [1400, fast], [1450, fast]])).toEqual(["warn", "none", "warn", "warn", "return-reduced-speed"]);
  });

  it("keeps a speed margin so a small overshoot is not an alarm", () => {
    expect(supervise(1000, obs({ expect: { phase: "moving", tiltFrom: 0, tiltTarget: 40 } }, { vel: 10.9 })).action).toBe("none");
  });

  it("escalates a sensor mismatch after its delay", () => {
    const m = obs({}, { tilt: 20, tilt2: 26 });
    expect(run([[0, m], [100, m], [200, m]])).toEqual(["warn", "warn", "return-reduced-speed"]);
  });

  it("escalates a tracking error from warn to hold to return", () => {
    const off = obs({ expect: { phase: "holding", tiltTarget: 20 } }, { tilt: 24, tilt2: 24 });
    expect(run([[0, off], [400, off], [500, off], [1999, off], [2000, off]])).toEqual(["warn", "warn", "hold", "hold", "return"]);
  });

  it("accepts any position between the start and the target of a move", () => {
    const o = obs({ expect: { phase: "moving", tiltFrom: 0, tiltTarget: 40 } }, { tilt: 27, tilt2: 27 });
    expect(supervise(0, o).action).toBe("none");
  });

  it("never holds during a return; a return that stops tracking goes to the firmware", () => {
    const off = obs({ expect: { phase: "returning", tiltFrom: 30, tiltTarget: -80 } }, { tilt: 36, tilt2: 36, mode: "moving" });
    expect(run([[0, off], [600, off], [2000, off]])).toEqual(["warn", "warn", "handed-to-firmware"]);
  });

  it("warns on stale telemetry, then holds", () => {
    expect(supervise(1000 + 200, obs()).action).toBe("none");
    expect(supervise(1000 + 300, obs()).action).toBe("warn");
    expect(supervise(1000 + 600, obs()).action).toBe("hold");
  });

  it("leaves a critical device fault or a firmware return to the firmware", () => {
    expect(supervise(1000, obs({}, { faults: ["SENSOR_MISMATCH"], mode: "returning" })).action).toBe("handed-to-firmware");
    expect(supervise(1000, obs({}, { faults: ["OVERCURRENT"], mode: "stopping" })).action).toBe("handed-to-firmware");
    expect(supervise(1000, obs({}, { mode: "returning" })).action).toBe("handed-to-firmware");
  });

  it("drives the return itself on a non-critical fault the firmware is not handling", () => {
    const d = supervise(1000, obs({}, { faults: ["WATCHDOG"], mode: "idle" }));
    expect(d.action).toBe("return");
    expect(d.findings[0].message).toContain("WATCHDOG");
  });

  it("reacts to the patient stop switch and an open ankle lock", () => {
    expect(supervise(1000, obs({}, { sw: "pressed" })).action).toBe("handed-to-firmware");
    expect(supervise(1000, obs({}, { sw: "disconnected" })).action).toBe("return");
    expect(supervise(1000, obs({}, { lock: false })).action).toBe("return");
    expect(supervise(1000, obs({}, { lock: false, tilt: -30, tilt2: -30 })).action).not.toBe("return");
  });

  describe("recheckAt", () => {
    /**
     * The promise a periodic caller relies on to skip checks: the same observation, with the memory of the
     * last decision, decides the same at every time before recheckAt, and differently soon after it.
     */
    function holdsUntil(t0: number, o: Observed, memory: SupervisorMemory = {}): number {
      const d0 = supervise(t0, o, memory);
      const end = Math.min(d0.recheckAt, t0 + 5000);
      for (let t = t0 + 1; t < end; t += 7) {
        const d = supervise(t, o, d0.memory);
        expect({ action: d.action, findings: d.findings, memory: d.memory }, `at ${t}`).toEqual({ action: d0.action, findings: d0.findings, memory: d0.memory });
      }
      return d0.recheckAt;
    }

    it("is when the telemetry turns stale when all is quiet", () => {
      const at = holdsUntil(1000, obs());
      expect(at).toBe(1000 + 250);
      expect(supervise(at + 1, obs()).action).toBe("warn");
    });

    it("is now while telemetry is stale (the finding carries its age)", () => {
      expect(supervise(1400, obs()).recheckAt).toBe(1400);
    });

    it("is when a pending delay runs out: overspeed, sensor mismatch, tracking hold and return", () => {
      const fast = obs({ expect: { phase: "moving", tiltFrom: 0, tiltTarget: 40 } }, { vel: 11.6 });
      const first = supervise(1000, fast);
      expect(holdsUntil(1050, fast, first.memory)).toBe(1200);
      expect(supervise(1200, fast, first.memory).action).toBe("return-reduced-speed");

      const m = obs({ tlmAt: 0 }, { tilt: 20, tilt2: 26 });
      expect(holdsUntil(0, m)).toBe(200);

      // Slow telemetry, so staleness stays out of the way of the two-second delay.
      const off = obs({ tlmAt: 0, tlmPeriodMs: 10_000, expect: { phase: "holding", tiltTarget: 20 } }, { tilt: 24, tilt2: 24 });
      const w = supervise(0, off);
      expect(holdsUntil(100, off, w.memory)).toBe(500);
      const h = supervise(500, off, w.memory);
      expect(h.action).toBe("hold");
      expect(h.recheckAt).toBe(2000);
      expect(supervise(2000, off, h.memory).action).toBe("return");
    });

    it("is never earlier than the telemetry's staleness allows, whatever else is present", () => {
      const fault = obs({}, { faults: ["WATCHDOG"], mode: "idle", sw: "disconnected" });
      expect(holdsUntil(1000, fault)).toBe(1250);
      // Without telemetry only a new observation changes anything.
      expect(supervise(1000, obs({ tlm: undefined, tlmAt: undefined, link: "lost" })).recheckAt).toBe(Infinity);
    });
  });
});

