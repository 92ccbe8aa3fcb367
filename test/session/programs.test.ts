// Every built-in program runs to completion against the simulator in virtual time, and neither the
// physical ground truth nor the telemetry ever breaks a limit, a speed, or the slow-return profile.
import { describe, expect, it } from "vitest";
import { BUILTIN_PROGRAMS } from "../../src/programs/library.js";
import { compileProgram } from "../../src/programs/compile.js";
import { startHarness } from "./harness.js";
import { longestRest, returnStart, telemetryViolations, truthViolations } from "./invariants.js";

const UPRIGHT = -80;

describe("built-in programs against the simulator", () => {
  for (const [name, program] of Object.entries(BUILTIN_PROGRAMS)) {
    it(`${name} completes within every limit and returns slowly`, async () => {
      const pulls = compileProgram(program).some((a) => a.kind === "force");
      const h = startHarness(program, { simConfig: { model: pulls ? "combo" : "table" } });
      expect(h.finish()).toBe(true);
      const s = await h.session.done;
      expect(s.reason).toBe("program finished");
      expect(s.outcome).toBe("completed");
      const lim = s.limits!;
      const retAt = returnStart(s.events);
      expect(retAt).toBeDefined();
      const opts = { limits: lim, upright: UPRIGHT, returnSpeed: Math.min(4, lim.speedMax), approachSpeed: 1, approachZone: 10, returnAt: retAt };
      expect(h.truths.length).toBeGreaterThan(100);
      expect(truthViolations(h.truths, opts)).toEqual([]);
      expect(telemetryViolations(h.samples, opts)).toEqual([]);
      // The session actually used the program: it went as far as the program asks (within tolerance).
      const maxTarget = Math.max(UPRIGHT, ...compileProgram(program).flatMap((a) => (a.kind === "move" ? [a.target] : [])));
      expect(s.maxAngle).toBeGreaterThan(maxTarget - 0.5);
      if (maxTarget > 1) expect(longestRest(h.truths, retAt!, 0)).toBeGreaterThanOrEqual(59.5);
      const end = h.truths[h.truths.length - 1];
      expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.5);
      expect(h.device.truth().force).toBeLessThan(3);
      expect(end.faults).toEqual([]);
      expect(s.events.filter((e) => e.code === "SUPERVISOR" || e.code === "CLAMPED")).toEqual([]);
    });
  }
});
