import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CapsMsg } from "../../protocol/index.js";
import { DEFAULT_DEVICE_AXES } from "../../src/limits/device-defaults.js";
import { DEFAULT_RETURN_PROFILE, planProgram, sessionReturnProfile } from "../../src/programs/plan.js";
import {
  checkInvertedTime, checkPlan, checkProgram, INVERTED_TIME_MARGIN, clampToLimits, effectiveLimits, limitsMessageFields, LimitsError,
  type EffectiveLimits, type LimitSet, type LimitSource,
} from "../../src/limits/effective.js";
import { compileProgram } from "../../src/programs/compile.js";
import { parseProgram, type ProgramInput } from "../../src/programs/schema.js";

const device = DEFAULT_DEVICE_AXES;
const prog = (steps: ProgramInput["steps"], limits?: LimitSet) => parseProgram({ name: "p", steps, ...(limits ? { limits } : {}) });

describe("effectiveLimits", () => {
  it("takes the device's limits when nothing else is given", () => {
    const lim = effectiveLimits(device, {}, {});
    expect(lim).toMatchObject({ tiltMin: -80, tiltMax: 90, speedMax: 10, forceMax: 700, rateMax: 50, axes: { tilt: true, traction: true } });
    expect(Object.values(lim.source).every((s) => s === "device")).toBe(true);
  });

  it("takes the strictest of each field and names its source", () => {
    const lim = effectiveLimits(device, { tiltMax: 45, speedMax: 8, tiltMin: -70 }, { tiltMax: 60, speedMax: 5, forceMax: 300 });
    expect(lim).toMatchObject({ tiltMin: -70, tiltMax: 45, speedMax: 5, forceMax: 300, rateMax: 50 });
    expect(lim.source).toEqual({ tiltMin: "profile", tiltMax: "profile", speedMax: "program", forceMax: "program", rateMax: "device" });
  });

  it("a source can never loosen a limit", () => {
    const lim = effectiveLimits(device, { tiltMax: 120, tiltMin: -90, speedMax: 80 }, { forceMax: 4000, rateMax: 900 });
    expect(lim).toMatchObject({ tiltMin: -80, tiltMax: 90, speedMax: 10, forceMax: 700, rateMax: 50 });
  });

  it("an absent axis allows nothing on it, and is left out of the limits message", () => {
    const stretcher: CapsMsg["axes"] = { traction: { max: 500, rateMax: 30 } };
    const lim = effectiveLimits(stretcher, { tiltMax: 40 }, {});
    expect(lim.axes).toEqual({ tilt: false, traction: true });
    expect(lim.speedMax).toBe(0);
    expect(limitsMessageFields(lim)).toEqual({ forceMax: 500, rateMax: 30 });
    expect(limitsMessageFields(effectiveLimits(device, { tiltMax: 30 }))).toEqual({ tiltMin: -80, tiltMax: 30, speedMax: 10, forceMax: 700, rateMax: 50 });
  });

  it("refuses non-finite limits with a line naming the source and field", () => {
    expect(() => effectiveLimits(device, { tiltMax: Number.NaN })).toThrow(new LimitsError("profile limit tiltMax: must be a finite number (got NaN)"));
    expect(() => effectiveLimits(device, {}, { speedMax: Infinity })).toThrow(/program limit speedMax/);
  });

  const optNum = (min: number, max: number) => fc.option(fc.double({ min, max, noNaN: true }), { nil: undefined });
  const limitSet = fc.record({ tiltMin: optNum(-80, 90), tiltMax: optNum(-80, 90), speedMax: optNum(0.1, 90), forceMax: optNum(0, 5000), rateMax: optNum(0.1, 1000) });
  const axes = fc.record({
    tilt: fc.record({ min: fc.double({ min: -90, max: -10, noNaN: true }), max: fc.double({ min: 10, max: 120, noNaN: true }), upright: fc.constant(-80), speedMax: fc.double({ min: 0.5, max: 90, noNaN: true }), returnSpeed: fc.constant(4) }),
    traction: fc.record({ max: fc.double({ min: 0, max: 5000, noNaN: true }), rateMax: fc.double({ min: 0.5, max: 1000, noNaN: true }) }),
  });

  it("property: each field equals the strictest source, and the named source holds that value", () => {
    fc.assert(
      fc.property(axes, limitSet, limitSet, (dev, profile, program) => {
        const lim = effectiveLimits(dev, profile, program);
        const given: Record<LimitSource, LimitSet> = {
          device: { tiltMin: dev.tilt.min, tiltMax: dev.tilt.max, speedMax: dev.tilt.speedMax, forceMax: dev.traction.max, rateMax: dev.traction.rateMax },
          profile, program,
        };
        for (const f of ["tiltMin", "tiltMax", "speedMax", "forceMax", "rateMax"] as const) {
          const values = Object.values(given).map((s) => s[f]).filter((v): v is number => v !== undefined);
          const expected = f === "tiltMin" ? Math.max(...values) : Math.min(...values);
          // `===`, not Object.is: a limit of -0 and one of 0 are the same limit, and either source may be named
          expect(lim[f] === expected, `${f}: ${lim[f]} vs ${expected}`).toBe(true);
          expect(given[lim.source[f]][f] === expected, `${f} source ${lim.source[f]}`).toBe(true);
          // never looser than any source
          for (const v of values) expect(f === "tiltMin" ? lim[f] >= v : lim[f] <= v).toBe(true);
        }
      }),
      {
        numRuns: 500,
        // found by a CI run: a profile limit of 0 and a program limit of -0 tie
        examples: [[
          { tilt: { min: -10, max: 10, upright: -80, speedMax: 0.5, returnSpeed: 4 }, traction: { max: 0, rateMax: 0.5 } },
          { tiltMin: undefined, tiltMax: 0, speedMax: undefined, forceMax: undefined, rateMax: undefined },
          { tiltMin: undefined, tiltMax: -0, speedMax: undefined, forceMax: undefined, rateMax: undefined },
        ]],
      },
    );
  });
});

describe("checkProgram / checkPlan", () => {
  it("refuses a program over the profile limit, naming the step, field, limit and source", () => {
    const p = prog([{ type: "ramp", to: 0, speed: 5 }, { type: "pump", from: 0, to: 60, cycles: 3, speed: 5 }]);
    const r = checkProgram(p, effectiveLimits(device, { tiltMax: 45 }, {}));
    expect(r).toEqual({
      ok: false, step: 2, stepType: "pump", field: "tiltMax", limit: 45, asked: 60, source: "profile",
      message: "step 2 (pump) goes to 60 deg but the profile limit is 45 deg",
    });
    expect(checkPlan({ actions: compileProgram(p) }, effectiveLimits(device, { tiltMax: 45 }, {}))).toEqual(r);
  });

  it("checks speed, force, rate, the minimum angle and missing axes", () => {
    const lim = effectiveLimits(device, { speedMax: 6, forceMax: 400 }, { rateMax: 20 });
    expect(checkProgram(prog([{ type: "ramp", to: 20, speed: 8 }]), lim)).toMatchObject({ ok: false, step: 1, field: "speedMax", limit: 6, asked: 8, message: "step 1 (ramp) moves at 8 deg/s but the profile limit is 6 deg/s" });
    expect(checkProgram(prog([{ type: "hold", seconds: 1 }, { type: "traction", target: 500, holdS: 1, restS: 1, cycles: 1, rate: 10 }]), lim))
      .toMatchObject({ ok: false, step: 2, field: "forceMax", message: "step 2 (traction) pulls 500 N but the profile limit is 400 N" });
    expect(checkProgram(prog([{ type: "traction", target: 300, holdS: 1, restS: 1, cycles: 1, rate: 30 }]), lim))
      .toMatchObject({ ok: false, step: 1, field: "rateMax", source: "program", message: "step 1 (traction) changes force at 30 N/s but the program limit is 20 N/s" });
    expect(checkProgram(prog([{ type: "rest", seconds: 5, angle: -60 }]), effectiveLimits(device, { tiltMin: -40 })))
      .toMatchObject({ ok: false, field: "tiltMin", message: "step 1 (rest) goes to -60 deg but the profile minimum is -40 deg" });
    expect(checkProgram(prog([{ type: "ramp", to: 20, speed: 4 }]), effectiveLimits({ traction: { max: 500, rateMax: 30 } })))
      .toMatchObject({ ok: false, step: 1, field: "axis", message: "step 1 (ramp) moves the table but the device has no tilt axis" });
    expect(checkProgram(prog([{ type: "traction", target: 100, holdS: 1, restS: 1, cycles: 1, rate: 5 }]), effectiveLimits({ tilt: device.tilt })))
      .toMatchObject({ ok: false, field: "axis", message: "step 1 (traction) pulls but the device has no traction axis" });
  });

  it("the program's own limits refuse its own excess", () => {
    const p = prog([{ type: "ramp", to: 50, speed: 4 }], { tiltMax: 40 });
    expect(checkProgram(p, effectiveLimits(device, {}, p.limits))).toMatchObject({ ok: false, source: "program", limit: 40, asked: 50 });
  });

  it("exactly at the limit is allowed; conflicting limits are refused as a whole", () => {
    expect(checkProgram(prog([{ type: "ramp", to: 45, speed: 10 }]), effectiveLimits(device, { tiltMax: 45 }))).toEqual({ ok: true });
    const r = checkProgram(prog([{ type: "ramp", to: 5, speed: 1 }]), effectiveLimits(device, { tiltMin: 10 }, { tiltMax: 5 }));
    expect(r).toMatchObject({ ok: false, step: 0, field: "tiltMin" });
    if (!r.ok) expect(r.message).toBe("the limits leave no room to move: tiltMin 10 deg (profile) is above tiltMax 5 deg (program)");
  });

  it("property: accepted iff every action is inside the limits; a refusal names the first offending action", () => {
    const step = fc.oneof(
      fc.record({ type: fc.constant("ramp" as const), to: fc.integer({ min: -80, max: 90 }), speed: fc.integer({ min: 1, max: 20 }) }),
      fc.record({ type: fc.constant("traction" as const), target: fc.integer({ min: 1, max: 900 }), holdS: fc.constant(1), restS: fc.constant(1), cycles: fc.constant(1), rate: fc.integer({ min: 1, max: 80 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 90 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 700 }), (steps, tiltMax, speedMax, forceMax) => {
        const p = prog(steps);
        const lim = effectiveLimits(device, { tiltMax, speedMax, forceMax });
        const actions = compileProgram(p);
        const bad = actions.findIndex((a) =>
          a.kind === "move" ? a.target > lim.tiltMax || a.target < lim.tiltMin || a.speed > lim.speedMax
          : a.kind === "force" ? a.target > lim.forceMax || a.rate > lim.rateMax : false);
        const r = checkProgram(p, lim);
        if (bad < 0) expect(r).toEqual({ ok: true });
        else expect(r).toMatchObject({ ok: false, step: actions[bad]?.step });
      }),
      { numRuns: 300 },
    );
  });
});

describe("checkInvertedTime", () => {
  const caps = { maxInvertedS: 900, axes: device };
  const holdAt = (angle: number, seconds: number) => planProgram(prog([{ type: "ramp", to: angle, speed: 5 }, { type: "hold", seconds }, { type: "rest", seconds: 10 }]), { startTilt: -80, accel: 10 });

  it("accepts a plan whose head-down time plus the way back fits in the cap with its margin", () => {
    expect(checkInvertedTime(holdAt(40, 600), caps)).toEqual({ ok: true });
    expect(checkPlan(holdAt(40, 600), effectiveLimits(device), caps)).toEqual({ ok: true });
  });

  it("refuses at the step where the budget runs out, counting the descent at the return speed", () => {
    // the ramp's head-down part, the hold, then the descent from 40 deg at the return speed
    const plan = holdAt(40, 800);
    const r = checkInvertedTime(plan, caps);
    expect(r).toMatchObject({ ok: false, step: 2, stepType: "hold", field: "maxInvertedS", source: "device", limit: 810 });
    if (!r.ok) {
      expect(r.asked).toBe(Math.ceil(plan.segments[0]!.headDownS + 800 + 40 / sessionReturnProfile(device).returnSpeed));
      expect(r.message).toBe(`step 2 (hold) keeps the user head-down for ${r.asked} s with the way back to horizontal, but the device allows 900 s (a plan may use 90% of it: 810 s)`);
    }
    expect(checkPlan(plan, effectiveLimits(device), caps)).toEqual(r);
    // without caps, checkPlan checks limits only
    expect(checkPlan(plan, effectiveLimits(device))).toEqual({ ok: true });
  });

  it("the way back runs no faster than the effective speedMax, as the session's return does", () => {
    // A cautious profile caps tilt speed at 0.5 deg/s: the session's descent from 60 deg then takes 120 s,
    // not the 15 s of the device's return speed, and the firmware's cap would end the session.
    const lim = effectiveLimits(device, { speedMax: 0.5 });
    const plan = planProgram(prog([{ type: "ramp", to: 60, speed: 0.5 }, { type: "hold", seconds: 600 }]), { startTilt: -80, accel: 10 });
    const expected = { ok: false, step: 2, field: "maxInvertedS", limit: 810, asked: Math.ceil(plan.headDownS + 60 / 0.5) };
    expect(checkInvertedTime(plan, caps, lim)).toMatchObject(expected);
    expect(checkPlan(plan, lim, caps)).toMatchObject(expected);
  });

  it("the way back starts by releasing traction at the device's return rate while still head-down", () => {
    // Stopped at the end of the hold, the session first eases 700 N off at 20 N/s (35 s), then descends.
    const plan = planProgram(
      prog([{ type: "ramp", to: 30, speed: 5 }, { type: "traction", target: 700, restPct: 100, holdS: 760, restS: 0, cycles: 1, rate: 50 }]),
      { startTilt: -80, accel: 10 },
    );
    const hold = plan.segments.findIndex((s) => s.kind === "dwell");
    const headDown = plan.segments.slice(0, hold + 1).reduce((t, s) => t + s.headDownS, 0);
    const expected = { ok: false, step: 2, field: "maxInvertedS", asked: Math.ceil(headDown + 700 / 20 + 30 / sessionReturnProfile(device).returnSpeed) };
    expect(checkInvertedTime(plan, caps)).toMatchObject(expected);
    expect(checkPlan(plan, effectiveLimits(device), caps)).toMatchObject(expected);
  });

  // A device may advertise a faster return than the session runs: the session never returns faster
  // than its own DEFAULT_RETURN_PROFILE.returnSpeed, so the check must count the slower, real descent.
  const withReturnSpeed = (returnSpeed: number): CapsMsg["axes"] => ({ ...device, tilt: { ...device.tilt!, returnSpeed } });
  const holdAt60 = (seconds: number) => planProgram(prog([{ type: "ramp", to: 60, speed: 5 }, { type: "hold", seconds }]), { startTilt: -80, accel: 10 });

  it("counts the descent at the session's return speed when the device advertises a faster one", () => {
    const fast = withReturnSpeed(10);
    const fastCaps = { maxInvertedS: 900, axes: fast };
    const plan = holdAt60(790);
    expect(DEFAULT_RETURN_PROFILE.returnSpeed).toBe(4);
    // 12.25 s of the ramp head-down + 790 s hold: with the descent from 60 deg at the device's 10 deg/s
    // (6 s) it would fit the 810 s budget; at the session's real 4 deg/s (15 s) it does not.
    expect(plan.headDownS + 60 / 10).toBeLessThanOrEqual(810);
    const expected = {
      ok: false, step: 2, stepType: "hold", field: "maxInvertedS", source: "device", limit: 810, asked: 818,
      message: "step 2 (hold) keeps the user head-down for 818 s with the way back to horizontal, but the device allows 900 s (a plan may use 90% of it: 810 s)",
    };
    expect(Math.ceil(plan.headDownS + 60 / 4)).toBe(818);
    expect(checkInvertedTime(plan, fastCaps)).toEqual(expected);
    expect(checkInvertedTime(plan, fastCaps, effectiveLimits(fast))).toEqual(expected);
    expect(checkPlan(plan, effectiveLimits(fast), fastCaps)).toEqual(expected);
    // Limits slower than the session's own speed slow the estimate further, as they slow the return.
    expect(checkInvertedTime(holdAt60(700), fastCaps, effectiveLimits(fast, { speedMax: 0.5 })))
      .toMatchObject({ ok: false, step: 2, asked: Math.ceil(holdAt60(700).headDownS + 60 / 0.5) });
    expect(checkInvertedTime(holdAt60(700), fastCaps, effectiveLimits(fast))).toEqual({ ok: true });
  });

  it("still counts the descent at the device's return speed when it is slower than the session's", () => {
    const slowCaps = { maxInvertedS: 900, axes: withReturnSpeed(2) };
    // 12.25 + 780 s fits with the descent at 4 deg/s (15 s), not at the device's 2 deg/s (30 s).
    const plan = holdAt60(780);
    expect(checkInvertedTime(plan, caps)).toEqual({ ok: true });
    const r = checkInvertedTime(plan, slowCaps);
    expect(r).toMatchObject({ ok: false, step: 2, field: "maxInvertedS", limit: 810, asked: Math.ceil(plan.headDownS + 60 / 2) });
    if (!r.ok) expect(r.message).toMatch(/^step 2 \(hold\) keeps the user head-down for 823 s /);
  });

  it("counts a session configured to return more slowly than its default", () => {
    const plan = holdAt60(780);
    expect(checkInvertedTime(plan, caps, undefined, undefined, { returnSpeed: 4 })).toEqual({ ok: true });
    const r = checkInvertedTime(plan, caps, undefined, undefined, { returnSpeed: 2 });
    expect(r).toMatchObject({ ok: false, field: "maxInvertedS", limit: 810, asked: Math.ceil(plan.headDownS + 60 / 2) });
  });

  it("a refusal never says the plan asks for exactly what it may use", () => {
    // 8.25 s of the ramp head-down + 792 s hold + 10 s back from 40 deg = 810.25 s, over the 810 s budget.
    const r = checkInvertedTime(holdAt(40, 792), caps);
    expect(r).toMatchObject({ ok: false, limit: 810, asked: 811 });
  });

  it("only head-down time counts; no cap or no tilt axis means nothing to check", () => {
    expect(checkInvertedTime(holdAt(-10, 3000), caps)).toEqual({ ok: true });
    expect(checkInvertedTime(holdAt(40, 3000), { axes: device })).toEqual({ ok: true });
    expect(INVERTED_TIME_MARGIN).toBeLessThan(1);
  });
});

describe("clampToLimits", () => {
  const lim: EffectiveLimits = effectiveLimits(device, { tiltMax: 45, speedMax: 6, forceMax: 300 }, { rateMax: 20 });

  it("passes commands inside the limits unchanged", () => {
    const move = { kind: "move" as const, target: 30, speed: 5, step: 1, label: "x" };
    expect(clampToLimits(move, lim)).toEqual({ cmd: move, changed: [] });
    const wire = { type: "force" as const, id: "c1", axis: "traction" as const, target: 100, rate: 10 };
    expect(clampToLimits(wire, lim)).toEqual({ cmd: wire, changed: [] });
  });

  it("clamps target and speed/rate and says what changed and why", () => {
    const r = clampToLimits({ type: "move" as const, id: "m1", axis: "tilt" as const, target: 70, speed: 9 }, lim);
    expect(r.cmd).toEqual({ type: "move", id: "m1", axis: "tilt", target: 45, speed: 6 });
    expect(r.changed).toEqual([
      { field: "target", from: 70, to: 45, limit: "tiltMax", source: "profile" },
      { field: "speed", from: 9, to: 6, limit: "speedMax", source: "profile" },
    ]);
    expect(clampToLimits({ kind: "move" as const, target: -95, speed: 1 }, lim).cmd.target).toBe(-80);
    const f = clampToLimits({ kind: "force" as const, target: 450, rate: 40 }, lim);
    expect(f.cmd).toEqual({ kind: "force", target: 300, rate: 20 });
    expect(f.changed.map((c) => c.limit)).toEqual(["forceMax", "rateMax"]);
    expect(clampToLimits({ kind: "force" as const, target: -5, rate: 5 }, lim).cmd.target).toBe(0);
  });

  it("throws rather than send something unsafe", () => {
    expect(() => clampToLimits({ kind: "move" as const, target: Number.NaN, speed: 1 }, lim)).toThrow(LimitsError);
    expect(() => clampToLimits({ kind: "move" as const, target: 10, speed: 0 }, lim)).toThrow(/must be > 0/);
    expect(() => clampToLimits({ kind: "force" as const, target: 10, rate: Infinity }, lim)).toThrow(/not a finite number/);
    expect(() => clampToLimits({ kind: "move" as const, target: 10, speed: 1 }, effectiveLimits({ traction: device.traction }))).toThrow(/no tilt axis/);
    expect(() => clampToLimits({ kind: "force" as const, target: 10, rate: 1 }, effectiveLimits({ tilt: device.tilt }))).toThrow(/no traction axis/);
  });

  it("property: the result is always within the limits, whatever is asked", () => {
    fc.assert(
      fc.property(fc.double({ min: -1000, max: 1000, noNaN: true }), fc.double({ min: 0.001, max: 500, noNaN: true }), fc.boolean(), (target, speed, isMove) => {
        if (isMove) {
          const { cmd } = clampToLimits({ kind: "move" as const, target, speed }, lim);
          expect(cmd.target >= lim.tiltMin && cmd.target <= lim.tiltMax && cmd.speed > 0 && cmd.speed <= lim.speedMax).toBe(true);
        } else {
          const { cmd } = clampToLimits({ kind: "force" as const, target, rate: speed }, lim);
          expect(cmd.target >= 0 && cmd.target <= lim.forceMax && cmd.rate > 0 && cmd.rate <= lim.rateMax).toBe(true);
        }
      }),
    );
  });
});
