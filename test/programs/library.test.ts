import { describe, expect, it } from "vitest";
import { DEFAULT_DEVICE_AXES, DEFAULT_DEVICE_CAPS } from "../../src/limits/device-defaults.js";
import { checkInvertedTime, checkProgram, effectiveLimits } from "../../src/limits/effective.js";
import { compileProgram } from "../../src/programs/compile.js";
import { planProgram, planReturnAfter, sessionReturnProfile } from "../../src/programs/plan.js";
import { BUILTIN_PROGRAMS, builtinNames, getBuiltin } from "../../src/programs/library.js";
import { parseProgram } from "../../src/programs/schema.js";

describe("built-in programs", () => {
  it("has the library the product promises", () => {
    expect(builtinNames().sort()).toEqual(
      ["beginner", "combo", "gentle-oscillation", "intermittent-inversion", "intermittent-traction", "oscillation"].sort(),
    );
    expect(getBuiltin("beginner")?.name).toBe("beginner");
    expect(getBuiltin("nope")).toBeUndefined();
    expect(getBuiltin("toString")).toBeUndefined();
  });

  for (const [name, p] of Object.entries(BUILTIN_PROGRAMS)) {
    describe(name, () => {
      it("re-parses, cites DOMAIN.md sections 1-3, ends with return", () => {
        expect(parseProgram(JSON.parse(JSON.stringify(p)))).toEqual(p);
        expect(p.source).toMatch(/DOMAIN\.md §[123]/);
        expect(p.description.length).toBeGreaterThan(10);
        expect(p.steps.at(-1)?.type).toBe("return");
      });

      it("compiles and fits within the device defaults and its own limits", () => {
        const actions = compileProgram(p);
        expect(actions.length).toBeGreaterThan(0);
        expect(checkProgram(p, effectiveLimits(DEFAULT_DEVICE_AXES, {}, p.limits ?? {}))).toEqual({ ok: true });
      });

      it("plans within the device defaults from upright, and its time head-down plus the return fits the 900 s cap", () => {
        const tilt = DEFAULT_DEVICE_AXES.tilt!;
        const traction = DEFAULT_DEVICE_AXES.traction!;
        const plan = planProgram(p, { startTilt: tilt.upright, accel: tilt.accelMax! });
        expect(plan.maxAngle).toBeLessThanOrEqual(tilt.max);
        expect(plan.minAngle).toBeGreaterThanOrEqual(tilt.min);
        expect(plan.maxSpeed).toBeLessThanOrEqual(tilt.speedMax);
        expect(plan.maxForce).toBeLessThanOrEqual(traction.max);
        expect(plan.actions.every((a) => a.kind !== "force" || a.rate <= traction.rateMax)).toBe(true);
        expect(plan.totalS).toBeGreaterThan(60);
        expect(plan.totalS).toBeLessThan(20 * 60);
        const end = plan.at(plan.totalS);
        expect(end.force).toBe(0);
        const back = planReturnAfter(plan, sessionReturnProfile(DEFAULT_DEVICE_AXES, p.limits));
        expect(plan.headDownS + back.totalS).toBeLessThan(DEFAULT_DEVICE_CAPS.maxInvertedS);
        expect(checkInvertedTime(plan, DEFAULT_DEVICE_CAPS)).toEqual({ ok: true });
      });
    });
  }

  it("beginner stays near 20° for 1-2 minutes (DOMAIN.md §2)", () => {
    const a = compileProgram(BUILTIN_PROGRAMS.beginner!);
    const maxTilt = Math.max(...a.map((x) => (x.kind === "move" ? x.target : -Infinity)));
    const held = a.reduce((s, x) => s + (x.kind === "dwell" ? x.seconds : 0), 0);
    expect(maxTilt).toBeGreaterThanOrEqual(15);
    expect(maxTilt).toBeLessThanOrEqual(30);
    expect(held).toBeGreaterThanOrEqual(60);
    expect(held).toBeLessThanOrEqual(120);
  });

  it("oscillations pump between horizontal and 45° / 60°", () => {
    for (const [name, top] of [["gentle-oscillation", 45], ["oscillation", 60]] as const) {
      const moves = compileProgram(BUILTIN_PROGRAMS[name]!).filter((x) => x.kind === "move" && x.cycle);
      expect(new Set(moves.map((m) => (m.kind === "move" ? m.target : NaN)))).toEqual(new Set([0, top]));
    }
  });

  it("intermittent traction rests at 50% and climbs in progressive steps (Triton)", () => {
    const p = BUILTIN_PROGRAMS["intermittent-traction"]!;
    const s = p.steps[0];
    expect(s?.type === "traction" && s.restPct === 50 && s.progression?.mode === "progressive").toBe(true);
    const forces = compileProgram(p).flatMap((x) => (x.kind === "force" ? [x.target] : []));
    const target = Math.max(...forces);
    const firstPeak = forces.indexOf(target);
    expect(firstPeak).toBeGreaterThan(1);
    for (let i = 1; i <= firstPeak; i++) expect(forces[i]!).toBeGreaterThan(forces[i - 1]!);
  });

  it("combo uses both axes", () => {
    const kinds = new Set(compileProgram(BUILTIN_PROGRAMS.combo!).map((x) => x.kind));
    expect(kinds.has("move") && kinds.has("force")).toBe(true);
  });
});
