// The 4 h bound on a program counts its motion too: a tiny speed or force rate is within its field's own
// bound, yet stretches one move or force change over days.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUILTIN_PROGRAMS } from "../../src/programs/library.js";
import { planProgram } from "../../src/programs/plan.js";
import { MAX_PROGRAM_S, minimumProgramSeconds, parseProgram, ProgramError, ProgramSchema, StepSchema, type Program } from "../../src/programs/schema.js";

function errorOf(steps: unknown[]): ProgramError {
  try {
    parseProgram({ name: "x", steps });
  } catch (e) {
    if (e instanceof ProgramError) return e;
    throw e;
  }
  throw new Error("expected parseProgram to refuse the program");
}

describe("a program's moves and force changes count toward its 4 h", () => {
  it("a slow ramp is refused at its speed", () => {
    const e = errorOf([{ type: "ramp", to: 20, speed: 5 }, { type: "hold", seconds: 10 }, { type: "ramp", to: 80, speed: 0.001 }]);
    expect(e.message).toBe('program "x": step 3 (ramp).speed: a ramp of 60° at 0.001°/s takes 16.7 h; a program may last at most 4 h');
    expect(e.problems).toEqual([{ step: 3, stepType: "ramp", field: "speed", reason: "a ramp of 60° at 0.001°/s takes 16.7 h; a program may last at most 4 h" }]);
  });

  it("the first move counts from upright, where a session starts", () => {
    expect(errorOf([{ type: "ramp", to: 20, speed: 0.001 }]).message).toContain("step 1 (ramp).speed: a ramp of 100° at 0.001°/s takes 27.8 h");
  });

  it("a slow force rate is refused at its rate, counting every change of force", () => {
    // Up to 250 N and back to zero, and seven times down to the 125 N rest and back: 2250 N.
    const e = errorOf([{ type: "traction", target: 250, holdS: 30, restS: 15, cycles: 8, rate: 0.01 }]);
    expect(e.message).toBe(
      'program "x": step 1 (traction).rate: its force changes (2250 N in all) at 0.01 N/s take 62.5 h; a program may last at most 4 h',
    );
  });

  it("a slow move to a rest angle, and a pump's move into position, count too", () => {
    expect(errorOf([{ type: "ramp", to: 30, speed: 5 }, { type: "rest", seconds: 60, speed: 0.001 }]).message).toContain(
      "step 2 (rest).speed: the move of 30° to the rest angle at 0.001°/s takes 8.3 h",
    );
    expect(errorOf([{ type: "ramp", to: 0, speed: 5 }, { type: "pump", from: 80, to: 90, cycles: 1, speed: 0.005 }]).message).toContain(
      "step 2 (pump).speed: its moves (100° in all) at 0.005°/s take 5.6 h",
    );
  });

  it("motion that only adds up with the holds is refused for the whole program", () => {
    // 108° at 0.01°/s is 3 h, and 1.5 h of holds.
    const e = errorOf([{ type: "ramp", to: 28, speed: 0.01 }, { type: "hold", seconds: 3600 }, { type: "hold", seconds: 1800 }]);
    expect(e.message).toBe(
      'program "x": steps: must take at most 4 h in all (these take at least 4.5 h in holds, rests, dwells, traction times, moves and force changes)',
    );
  });

  it("slow programs within the bound still pass", () => {
    expect(parseProgram({ name: "x", steps: [{ type: "ramp", to: 20, speed: 0.01 }] }).steps).toHaveLength(1);
    expect(parseProgram({ name: "x", steps: [{ type: "traction", target: 100, holdS: 5, restS: 5, cycles: 2, rate: 0.1 }] }).steps).toHaveLength(1);
  });

  it("is what the planner finds, less the acceleration, for the library", () => {
    for (const p of Object.values(BUILTIN_PROGRAMS)) {
      const min = minimumProgramSeconds(p).totalS;
      expect(min).toBeCloseTo(planProgram(p, { startTilt: -80, accel: 1e9 }).totalS, 3);
      expect(min).toBeLessThanOrEqual(planProgram(p, { startTilt: -80, accel: 10 }).totalS);
    }
  });

  it("is what the planner finds, less the acceleration, for any program", () => {
    const angle = fc.integer({ min: -80, max: 90 });
    // Slow enough that the motion alone takes some programs past the bound.
    const speed = fc.double({ min: 0.05, max: 20, noNaN: true });
    const step = fc.oneof(
      fc.record({ type: fc.constant("ramp"), to: angle, speed }),
      fc.record({ type: fc.constant("hold"), seconds: fc.integer({ min: 1, max: 600 }) }),
      fc.record({ type: fc.constant("pump"), from: angle, to: angle, cycles: fc.integer({ min: 1, max: 5 }), speed, dwellHigh: fc.integer({ min: 0, max: 30 }) }).filter((s) => s.from !== s.to),
      fc.record({ type: fc.constant("rest"), seconds: fc.integer({ min: 1, max: 60 }), angle: fc.option(angle, { nil: undefined }), speed }),
      fc.record({
        type: fc.constant("traction"),
        target: fc.integer({ min: 1, max: 700 }),
        restPct: fc.integer({ min: 0, max: 100 }),
        holdS: fc.integer({ min: 1, max: 60 }),
        restS: fc.integer({ min: 0, max: 60 }),
        cycles: fc.integer({ min: 1, max: 6 }),
        rate: fc.double({ min: 0.5, max: 50, noNaN: true }),
        progression: fc.option(fc.record({ mode: fc.constantFrom("progressive", "regressive", "both"), steps: fc.integer({ min: 2, max: 5 }) }), { nil: undefined }),
      }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), (raw) => {
        const steps = raw.map((s) => StepSchema.parse(JSON.parse(JSON.stringify(s))));
        const p: Program = { name: "x", description: "", steps };
        const min = minimumProgramSeconds(p).totalS;
        const plan = planProgram(p, { startTilt: -80, accel: 1e9 }).totalS;
        // The force levels of a progression are rounded to 0.1 N: a few tenths of a newton at the rate.
        expect(Math.abs(min - plan)).toBeLessThanOrEqual(1e-3 * plan + 1);
        expect(ProgramSchema.safeParse(p).success).toBe(min <= MAX_PROGRAM_S);
      }),
      { numRuns: 300 },
    );
  });
});
