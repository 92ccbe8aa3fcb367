import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileProgram, type Action } from "../../src/programs/compile.js";
import { DEFAULT_DEVICE_AXES } from "../../src/limits/device-defaults.js";
import { moveProfile, planActions, planProgram, planReturn, planReturnAfter, sessionReturnProfile, DEFAULT_RETURN_PROFILE } from "../../src/programs/plan.js";
import { DEFAULT_RETURN } from "../../src/session/machine.js";
import { parseProgram, type ProgramInput } from "../../src/programs/schema.js";

const prog = (steps: ProgramInput["steps"]) => parseProgram({ name: "p", steps });
const EPS = 1e-6;

describe("moveProfile", () => {
  it("trapezoid when the move is long enough to reach the speed", () => {
    // 20 deg at 10 deg/s, 10 deg/s^2: 1 s up to speed (5 deg), 1 s cruise (10 deg), 1 s down (5 deg)
    expect(moveProfile(20, 10, 10)).toEqual({ duration: 3, vPeak: 10 });
    expect(moveProfile(-20, 10, 10)).toEqual({ duration: 3, vPeak: 10 });
  });
  it("triangle when it is too short, never reaching the commanded speed", () => {
    const r = moveProfile(5, 10, 10);
    expect(r.vPeak).toBeCloseTo(Math.sqrt(50), 12);
    expect(r.duration).toBeCloseTo((2 * Math.sqrt(50)) / 10, 12);
  });
  it("nothing to do for a zero move", () => {
    expect(moveProfile(0, 5, 10)).toEqual({ duration: 0, vPeak: 0 });
  });
});

describe("planActions on very long action lists", () => {
  it("computes the extremes without overflowing the call stack", () => {
    // More elements than a spread into Math.max can pass as arguments.
    const actions: Action[] = [];
    for (let i = 0; i < 300_000; i++) {
      actions.push({ step: 1, kind: "move", target: i % 2 ? 30 : -10, speed: i === 7 ? 12 : 10, label: "m" });
      if (i % 1000 === 0) actions.push({ step: 1, kind: "force", target: i === 5000 ? 300 : 100, rate: 50, label: "f" });
    }
    const plan = planActions(actions, { startTilt: -80, accel: 10 });
    expect(plan).toMatchObject({ maxAngle: 30, minAngle: -80, maxSpeed: 12, maxForce: 300 });
  });
});

describe("planProgram", () => {
  it("a ramp and a hold: positions along the trapezoid, then constant", () => {
    const plan = planProgram(prog([{ type: "ramp", to: 20, speed: 10 }, { type: "hold", seconds: 60 }]), { startTilt: 0, accel: 10 });
    expect(plan.totalS).toBeCloseTo(63, 12);
    expect(plan.at(0.5)).toMatchObject({ tilt: 1.25, vel: 5, step: 1 });
    expect(plan.at(1.5).tilt).toBeCloseTo(10, 12);
    expect(plan.at(1.5).vel).toBe(10);
    expect(plan.at(2.5).tilt).toBeCloseTo(18.75, 12);
    expect(plan.at(3)).toMatchObject({ tilt: 20, vel: 0 });
    expect(plan.at(30)).toMatchObject({ tilt: 20, vel: 0, step: 2 });
    expect(plan.at(1e9)).toMatchObject({ t: 63, tilt: 20 });
    expect(plan.at(-5)).toMatchObject({ t: 0, tilt: 0 });
    expect(plan).toMatchObject({ maxAngle: 20, minAngle: 0, maxSpeed: 10, maxForce: 0 });
    expect(plan.steps.map((s) => [s.step, s.type, s.startS, s.durationS])).toEqual([[1, "ramp", 0, 3], [2, "hold", 3, 60]]);
  });

  it("force ramps linearly at its rate", () => {
    const plan = planProgram(prog([{ type: "traction", target: 100, holdS: 10, restS: 5, cycles: 1, rate: 20 }]), { startTilt: 0, accel: 10 });
    // up 5 s, hold 10, down to 50 in 2.5 s, rest 5, release 2.5 s
    expect(plan.totalS).toBeCloseTo(25, 12);
    expect(plan.at(2.5).force).toBeCloseTo(50, 12);
    expect(plan.at(10).force).toBe(100);
    expect(plan.maxForce).toBe(100);
    expect(plan.at(plan.totalS).force).toBe(0);
  });

  it("starts from the start position: the first move of a session from upright is long", () => {
    const p = prog([{ type: "ramp", to: 20, speed: 4 }]);
    const fromUpright = planProgram(p, { startTilt: -80, accel: 10 });
    expect(fromUpright.totalS).toBeCloseTo(100 / 4 + 4 / 10, 12);
    expect(fromUpright.minAngle).toBe(-80);
  });

  it("head-down time: the part of each segment above horizontal, a crossing move split where it crosses", () => {
    const plan = planProgram(prog([{ type: "ramp", to: 10, speed: 10 }, { type: "hold", seconds: 30 }, { type: "ramp", to: -30, speed: 10 }]), { startTilt: -10, accel: 10 });
    // -10 -> 10: symmetric 3 s trapezoid, head-down for its second half; hold 30 s; 10 -> -30: 1 s up to
    // speed covers 5 deg, then 0.5 s at 10 deg/s to reach 0
    expect(plan.segments.map((x) => x.headDownS)).toEqual([expect.closeTo(1.5, 9), 30, expect.closeTo(1.5, 9)]);
    expect(plan.headDownS).toBeCloseTo(33, 9);
  });

  it("samples cover [0, totalS] at the step, ending exactly at the end", () => {
    const plan = planProgram(prog([{ type: "ramp", to: 7, speed: 3 }]), { startTilt: 0, accel: 10 });
    const s = plan.samples(0.5);
    expect(s[0]?.t).toBe(0);
    expect(s.at(-1)?.t).toBe(plan.totalS);
    expect(s.at(-1)?.tilt).toBe(7);
    for (let i = 1; i < s.length - 1; i++) expect(s[i]!.t - s[i - 1]!.t).toBeCloseTo(0.5, 12);
    expect(() => plan.samples(0)).toThrow(RangeError);
    expect(() => plan.samples(1e-9)).toThrow(/too many/);
  });

  it("refuses nonsense kinematics", () => {
    expect(() => planActions([], { startTilt: 0, accel: 0 })).toThrow(/accel must be a positive number/);
    expect(() => planActions([], { startTilt: Number.NaN, accel: 1 })).toThrow(/startTilt/);
  });

  const step = fc.oneof(
    fc.record({ type: fc.constant("ramp" as const), to: fc.integer({ min: -80, max: 90 }), speed: fc.double({ min: 0.5, max: 10, noNaN: true }) }),
    fc.record({ type: fc.constant("hold" as const), seconds: fc.integer({ min: 1, max: 30 }) }),
    fc.record({ type: fc.constant("pump" as const), from: fc.integer({ min: -30, max: 0 }), to: fc.double({ min: 0.1, max: 90, noNaN: true }), cycles: fc.integer({ min: 1, max: 3 }), dwell: fc.integer({ min: 0, max: 3 }), speed: fc.double({ min: 0.5, max: 10, noNaN: true }) }),
    fc.record({ type: fc.constant("traction" as const), target: fc.integer({ min: 10, max: 700 }), holdS: fc.integer({ min: 1, max: 10 }), restS: fc.integer({ min: 0, max: 10 }), cycles: fc.integer({ min: 1, max: 3 }), rate: fc.integer({ min: 1, max: 50 }),
      progression: fc.option(fc.record({ mode: fc.constantFrom("progressive" as const, "regressive" as const, "both" as const), steps: fc.integer({ min: 2, max: 4 }) }), { nil: undefined }) }),
    fc.record({ type: fc.constant("rest" as const), seconds: fc.integer({ min: 1, max: 10 }), angle: fc.option(fc.integer({ min: -80, max: 30 }), { nil: undefined }) }),
  );
  const kin = fc.record({ startTilt: fc.integer({ min: -80, max: 90 }), accel: fc.double({ min: 1, max: 30, noNaN: true }) });

  it("properties: never faster than commanded, continuous, accel-bounded, totalS is the sum of its parts", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), kin, (steps, k) => {
        const p = prog(steps);
        const plan = planProgram(p, k);
        const actions: Action[] = compileProgram(p);
        expect(plan.actions).toEqual(actions);
        // parts: contiguous segments whose durations follow from each action
        let t = 0;
        let tilt = k.startTilt;
        let force = 0;
        plan.segments.forEach((s, i) => {
          const a = actions[i]!;
          expect(s.t0).toBe(t);
          if (s.kind === "move") {
            // speed inside the move never above its commanded speed
            const cmd = (a as Extract<Action, { kind: "move" }>).speed;
            for (const f of [0.1, 0.25, 0.5, 0.75, 0.9]) expect(Math.abs(plan.at(s.t0 + f * (s.t1 - s.t0)).vel)).toBeLessThanOrEqual(cmd + EPS);
          }
          const d = s.t1 - s.t0;
          if (a.kind === "dwell") expect(d).toBeCloseTo(a.seconds, 9);
          if (a.kind === "force") { expect(d).toBeCloseTo(Math.abs(a.target - force) / a.rate, 9); force = a.target; }
          if (a.kind === "move") {
            expect(d + EPS).toBeGreaterThanOrEqual(Math.abs(a.target - tilt) / a.speed);
            expect(s.vPeak).toBeLessThanOrEqual(a.speed + EPS);
            tilt = a.target;
          }
          t = s.t1;
        });
        expect(plan.totalS).toBe(t);
        // trajectory (the bounds hold for any sampling step; a coarser one keeps long plans fast)
        const pts = plan.samples(Math.max(0.05, plan.totalS / 3000));
        let prev = pts[0]!;
        expect(prev.tilt).toBe(k.startTilt);
        const broken: string[] = [];
        for (const q of pts.slice(1)) {
          const h = q.t - prev.t;
          if (Math.abs(q.vel) > plan.maxSpeed + EPS) broken.push(`speed ${q.vel} at ${q.t}`);
          if (Math.abs(q.tilt - prev.tilt) > plan.maxSpeed * h + EPS) broken.push(`jump at ${q.t}`);
          if (Math.abs(q.vel - prev.vel) > k.accel * h + EPS) broken.push(`accel at ${q.t}`);
          if (q.tilt > plan.maxAngle + EPS || q.tilt < plan.minAngle - EPS) broken.push(`tilt ${q.tilt} outside extremes`);
          if (q.force > plan.maxForce + EPS || q.force < 0) broken.push(`force ${q.force}`);
          if (Math.abs(q.force - prev.force) > 50 * h + EPS) broken.push(`force rate at ${q.t}`);
          prev = q;
        }
        expect(broken).toEqual([]);
        expect(prev.vel).toBe(0);
        // each move ends at rest on its target
        for (const s of plan.segments) if (s.kind === "move") expect(plan.at(s.t1)).toMatchObject({ tilt: s.tilt1, vel: 0 });
        // head-down time agrees with the sampled trajectory
        const fine = plan.samples(Math.max(0.01, plan.totalS / 20000));
        let above = 0;
        for (let i = 1; i < fine.length; i++) if (fine[i]!.tilt > 0 && fine[i - 1]!.tilt > 0) above += fine[i]!.t - fine[i - 1]!.t;
        expect(plan.headDownS).toBeGreaterThanOrEqual(above - EPS);
        expect(plan.headDownS - above).toBeLessThanOrEqual(2 * Math.max(0.01, plan.totalS / 20000) * (plan.segments.length + 1) + EPS);
        // step summaries add up to the whole
        const sum = plan.steps.reduce((acc, s) => acc + s.durationS, 0);
        expect(sum).toBeCloseTo(plan.totalS, 6);
      }),
      { numRuns: 100 },
    );
  });
});

describe("planReturn", () => {
  it("from head-down: down to horizontal, rest, pause at -15, up, slow final rise", () => {
    const r = planReturn(40);
    expect(r.phases.map((p) => p.label)).toEqual(["down to horizontal", "rest at horizontal", "down to -15°", "pause at -15°", "toward upright", "slow final rise"]);
    const d = DEFAULT_RETURN_PROFILE;
    expect(r.totalS).toBeCloseTo(40 / d.returnSpeed + d.restS + 15 / d.returnSpeed + d.pauseS + 55 / d.returnSpeed + 10 / d.approachSpeed, 9);
  });
  it("never head-down: no rest and no pause; already upright: nothing to do; traction is released", () => {
    expect(planReturn(-10).phases.map((p) => p.label)).toEqual(["toward upright", "slow final rise"]);
    expect(planReturn(-10).totalS).toBeCloseTo(60 / DEFAULT_RETURN_PROFILE.returnSpeed + 10 / DEFAULT_RETURN_PROFILE.approachSpeed, 9);
    expect(planReturn(-80)).toEqual({ totalS: 0, phases: [] });
    const withForce = planReturn(-80, {}, 200);
    expect(withForce.totalS).toBeCloseTo(200 / DEFAULT_RETURN_PROFILE.returnRate, 9);
  });

  it("head-down earlier in the session: rest where the return starts, pause only above the pause angle", () => {
    const d = DEFAULT_RETURN_PROFILE;
    const fromHorizontal = planReturn(0, {}, 0, true);
    expect(fromHorizontal.phases.map((p) => p.label)).toEqual(["rest at horizontal", "down to -15°", "pause at -15°", "toward upright", "slow final rise"]);
    expect(fromHorizontal.totalS).toBeCloseTo(d.restS + 15 / d.returnSpeed + d.pauseS + 55 / d.returnSpeed + 10 / d.approachSpeed, 9);
    expect(planReturn(-30, {}, 0, true).phases.map((p) => p.label)).toEqual(["rest at -30°", "toward upright", "slow final rise"]);
    // Rest and pause switched off in the settings are not counted either.
    expect(planReturn(30, { restS: 0, pauseS: 0 }).phases.map((p) => p.label)).toEqual(["down to horizontal", "toward upright", "slow final rise"]);
  });

  it("after a plan: head-down if the program ever went there, wherever it ends", () => {
    const kin = { startTilt: -80, accel: 10 };
    const pump = planProgram(prog([{ type: "ramp", to: 0, speed: 5 }, { type: "pump", from: 0, to: 30, cycles: 1, dwell: 1, speed: 5 }]), kin);
    expect(pump.at(pump.totalS).tilt).toBe(0);
    expect(planReturnAfter(pump).totalS).toBeCloseTo(planReturn(0, {}, 0, true).totalS, 9);
    expect(planReturnAfter(pump).phases.map((p) => p.label)).toContain("rest at horizontal");
    const feetDown = planProgram(prog([{ type: "ramp", to: -10, speed: 4 }]), kin);
    expect(planReturnAfter(feetDown).phases.map((p) => p.label)).toEqual(["toward upright", "slow final rise"]);
  });

  it("the session's figures: its defaults, the device's return speed and rate, and every limit on the way", () => {
    expect({ ...DEFAULT_RETURN_PROFILE }).toMatchObject(DEFAULT_RETURN);
    expect(sessionReturnProfile(DEFAULT_DEVICE_AXES)).toEqual({ ...DEFAULT_RETURN_PROFILE });
    const slow = sessionReturnProfile({ tilt: { upright: -70, speedMax: 10, returnSpeed: 3 }, traction: { rateMax: 50, returnRate: 25 } }, { speedMax: 0.5 }, { rateMax: 12 });
    expect(slow).toMatchObject({ upright: -70, returnSpeed: 0.5, approachSpeed: 0.5, returnRate: 12 });
    expect(sessionReturnProfile({ tilt: { upright: -80, speedMax: 10, returnSpeed: 3 } })).toMatchObject({ returnSpeed: 3, approachSpeed: 1, returnRate: DEFAULT_RETURN_PROFILE.returnRate });
  });
});
