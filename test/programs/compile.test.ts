import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { axesUsed, compileProgram, type Action } from "../../src/programs/compile.js";
import { parseProgram, type ProgramInput } from "../../src/programs/schema.js";

const compile = (steps: ProgramInput["steps"]) => compileProgram(parseProgram({ name: "t", steps }));
const moves = (a: Action[]) => a.filter((x) => x.kind === "move").map((x) => (x.kind === "move" ? x.target : NaN));
const forces = (a: Action[]) => a.filter((x) => x.kind === "force").map((x) => (x.kind === "force" ? x.target : NaN));

describe("compileProgram", () => {
  it("ramp and hold become a move and a dwell, labelled, with the step number and type", () => {
    const a = compile([{ type: "ramp", to: 20, speed: 4 }, { type: "hold", seconds: 90, label: "enjoy" }, { type: "return" }]);
    expect(a).toEqual([
      { kind: "move", target: 20, speed: 4, step: 1, stepType: "ramp", label: "ramp to 20°" },
      { kind: "dwell", seconds: 90, step: 2, stepType: "hold", label: "enjoy" },
    ]);
  });

  it("pump: moves to the start, then n cycles up and back, with dwellHigh/dwellLow at the right ends", () => {
    const a = compile([{ type: "pump", from: 5, to: 45, cycles: 3, dwell: 2, dwellHigh: 7, speed: 5 }]);
    expect(a[0]).toMatchObject({ kind: "move", target: 5 });
    expect(a[0]?.cycle).toBeUndefined();
    const cyc = a.slice(1);
    expect(cyc).toHaveLength(3 * 4);
    cyc.forEach((x, i) => expect(x.cycle).toEqual({ k: Math.floor(i / 4) + 1, n: 3 }));
    expect(moves(cyc)).toEqual([45, 5, 45, 5, 45, 5]);
    const dwells = cyc.filter((x) => x.kind === "dwell").map((x) => (x.kind === "dwell" ? x.seconds : NaN));
    expect(dwells).toEqual([7, 2, 7, 2, 7, 2]);
  });

  it("pump downward (from above to) still dwells by angle: dwellHigh at the higher end", () => {
    const a = compile([{ type: "ramp", to: 40, speed: 4 }, { type: "pump", from: 40, to: 10, cycles: 1, dwellHigh: 9, dwellLow: 1, speed: 5 }]);
    // Already at `from`: no move to start.
    expect(a.map((x) => (x.kind === "move" ? `m${x.target}` : x.kind === "dwell" ? `d${x.seconds}` : "f"))).toEqual(["m40", "m10", "d1", "m40", "d9"]);
  });

  it("zero dwells are left out", () => {
    const a = compile([{ type: "pump", from: 0, to: 30, cycles: 2, speed: 5 }]);
    expect(a.every((x) => x.kind === "move")).toBe(true);
  });

  it("traction: pull, hold, rest at restPct, rest; release at the end", () => {
    const a = compile([{ type: "traction", target: 200, restPct: 40, holdS: 10, restS: 5, cycles: 2, rate: 20 }]);
    expect(forces(a)).toEqual([200, 80, 200, 80, 0]);
    expect(a.filter((x) => x.cycle).map((x) => x.cycle?.k)).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    expect(a.at(-1)).toMatchObject({ kind: "force", target: 0, rate: 20 });
    expect(a.at(-1)?.cycle).toBeUndefined();
  });

  it("traction default rest force is 50% of the target (Triton)", () => {
    const a = compile([{ type: "traction", target: 300, holdS: 10, restS: 5, cycles: 1, rate: 20 }]);
    expect(forces(a)).toEqual([300, 150, 0]);
  });

  it("progressive: climbs in n equal steps to the target before cycling", () => {
    const a = compile([{ type: "traction", target: 240, holdS: 10, restS: 5, cycles: 2, rate: 20, progression: { mode: "progressive", steps: 4, stepHoldS: 3 } }]);
    expect(forces(a)).toEqual([60, 120, 180, 240, 120, 240, 120, 0]);
    expect(a.slice(0, 6).filter((x) => x.kind === "dwell").map((x) => (x.kind === "dwell" ? x.seconds : 0))).toEqual([3, 3, 3]);
  });

  it("regressive: descends in n equal steps after the cycles (the last rest gives way to the descent)", () => {
    const a = compile([{ type: "traction", target: 240, holdS: 10, restS: 5, cycles: 2, rate: 20, progression: { mode: "regressive", steps: 4 } }]);
    expect(forces(a)).toEqual([240, 120, 240, 180, 120, 60, 0]);
    // stepHoldS defaults to holdS
    const holds = a.slice(-6).filter((x) => x.kind === "dwell").map((x) => (x.kind === "dwell" ? x.seconds : 0));
    expect(holds).toEqual([10, 10, 10]);
  });

  it("both: up in steps, cycles, down in steps", () => {
    const a = compile([{ type: "traction", target: 90, holdS: 1, restS: 1, cycles: 1, rate: 9, progression: { mode: "both", steps: 3 } }]);
    expect(forces(a)).toEqual([30, 60, 90, 60, 30, 0]);
  });

  it("rest: defaults to horizontal after the table moved, stays put on a stretcher-only program", () => {
    const withTable = compile([{ type: "ramp", to: 30, speed: 4 }, { type: "rest", seconds: 20 }]);
    expect(withTable.slice(1)).toEqual([
      { kind: "move", target: 0, speed: 4, step: 2, stepType: "rest", label: "rest at 0°: move" },
      { kind: "dwell", seconds: 20, step: 2, stepType: "rest", label: "rest at 0°" },
    ]);
    const stretcher = compile([{ type: "traction", target: 100, holdS: 1, restS: 1, cycles: 1, rate: 10 }, { type: "rest", seconds: 20 }]);
    expect(axesUsed(stretcher)).toEqual({ tilt: false, traction: true, headDown: false });
    expect(stretcher.at(-1)).toMatchObject({ kind: "dwell", seconds: 20 });
    const explicit = compile([{ type: "rest", seconds: 5, angle: -10, speed: 2 }]);
    expect(explicit[0]).toMatchObject({ kind: "move", target: -10, speed: 2 });
  });

  it("return compiles to nothing: the session machine runs the slow return", () => {
    expect(compile([{ type: "hold", seconds: 1 }, { type: "return" }])).toHaveLength(1);
  });

  const anyStep = fc.oneof(
    fc.record({ type: fc.constant("ramp" as const), to: fc.integer({ min: -80, max: 90 }), speed: fc.integer({ min: 1, max: 10 }) }),
    fc.record({ type: fc.constant("hold" as const), seconds: fc.integer({ min: 1, max: 60 }) }),
    fc.record({ type: fc.constant("pump" as const), from: fc.integer({ min: -20, max: 0 }), to: fc.integer({ min: 1, max: 90 }), cycles: fc.integer({ min: 1, max: 5 }), dwell: fc.integer({ min: 0, max: 5 }), speed: fc.integer({ min: 1, max: 10 }) }),
    fc.record({
      type: fc.constant("traction" as const), target: fc.integer({ min: 10, max: 700 }), restPct: fc.integer({ min: 0, max: 100 }),
      holdS: fc.integer({ min: 1, max: 30 }), restS: fc.integer({ min: 0, max: 30 }), cycles: fc.integer({ min: 1, max: 5 }), rate: fc.integer({ min: 1, max: 50 }),
      progression: fc.option(fc.record({ mode: fc.constantFrom("progressive" as const, "regressive" as const, "both" as const), steps: fc.integer({ min: 2, max: 6 }) }), { nil: undefined }),
    }),
    fc.record({ type: fc.constant("rest" as const), seconds: fc.integer({ min: 1, max: 30 }), angle: fc.option(fc.integer({ min: -80, max: 30 }), { nil: undefined }) }),
  );

  it("properties: step numbers in order, cycles k of n, forces within [0, target] and released, no-op moves dropped", () => {
    fc.assert(
      fc.property(fc.array(anyStep, { minLength: 1, maxLength: 8 }), (steps) => {
        const p = parseProgram({ name: "p", steps: steps.map((s) => JSON.parse(JSON.stringify(s)) as typeof s) });
        const a = compileProgram(p);
        let lastStep = 0;
        let tilt: number | undefined;
        let force = 0;
        for (const x of a) {
          expect(x.step).toBeGreaterThanOrEqual(lastStep);
          expect(x.stepType).toBe(p.steps[x.step - 1]?.type);
          lastStep = x.step;
          if (x.cycle) expect(x.cycle.k >= 1 && x.cycle.k <= x.cycle.n).toBe(true);
          expect(x.label.length).toBeGreaterThan(0);
          if (x.kind === "move") {
            expect(x.target).not.toBe(tilt);
            tilt = x.target;
          }
          if (x.kind === "force") {
            const s = p.steps[x.step - 1];
            expect(s?.type).toBe("traction");
            if (s?.type === "traction") expect(x.target >= 0 && x.target <= s.target).toBe(true);
            expect(x.target).not.toBe(force);
            force = x.target;
          }
          if (x.kind === "dwell") expect(x.seconds).toBeGreaterThan(0);
        }
        expect(force).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
