import fc from "fast-check";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProgramFile, MAX_PROGRAM_CYCLES, MAX_PROGRAM_FILE_BYTES, MAX_PROGRAM_S, parseProgram, ProgramError } from "../../src/programs/schema.js";

function errorOf(input: unknown, source?: string): ProgramError {
  try {
    parseProgram(input, source);
  } catch (e) {
    if (e instanceof ProgramError) return e;
    throw e;
  }
  throw new Error("expected parseProgram to throw");
}

const ok = { type: "hold", seconds: 5 };

describe("parseProgram: invalid programs name step, type, field and reason", () => {
  const cases: { what: string; steps: unknown[]; line: string }[] = [
    { what: "angle too high", steps: [ok, ok, { type: "pump", from: 0, to: 120, cycles: 2, speed: 5 }], line: 'program "x": step 3 (pump).to: must be at most 90 (got 120)' },
    { what: "angle below upright", steps: [{ type: "ramp", to: -85, speed: 3 }], line: "step 1 (ramp).to: must be at least -80 (got -85)" },
    { what: "zero speed", steps: [{ type: "ramp", to: 10, speed: 0 }], line: "step 1 (ramp).speed: must be greater than 0 (got 0)" },
    { what: "fractional cycles", steps: [ok, { type: "pump", from: 0, to: 10, cycles: 2.5, speed: 3 }], line: "step 2 (pump).cycles: must be a whole number (got 2.5)" },
    { what: "zero cycles", steps: [{ type: "traction", target: 100, holdS: 5, restS: 5, cycles: 0, rate: 5 }], line: "step 1 (traction).cycles: must be at least 1 (got 0)" },
    { what: "missing field", steps: [{ type: "traction", target: 100, holdS: 5, restS: 5, cycles: 2 }], line: "step 1 (traction).rate: is required" },
    { what: "wrong type", steps: [{ type: "hold", seconds: "5" }], line: "step 1 (hold).seconds: must be a number (got a string)" },
    { what: "unknown step type", steps: [ok, { type: "pmp" }], line: 'step 2: unknown step type "pmp" (expected one of ramp, hold, pump, traction, rest, return)' },
    { what: "missing step type", steps: [{ seconds: 3 }], line: "step 1: is required (expected one of" },
    { what: "typo in a field", steps: [{ type: "rest", seconds: 10, angel: 5 }], line: 'step 1 (rest): unknown field "angel"' },
    { what: "restPct over 100", steps: [{ type: "traction", target: 100, restPct: 150, holdS: 5, restS: 5, cycles: 1, rate: 5 }], line: "step 1 (traction).restPct: must be at most 100 (got 150)" },
    { what: "bad progression mode", steps: [{ type: "traction", target: 100, holdS: 5, restS: 5, cycles: 1, rate: 5, progression: { mode: "up", steps: 3 } }], line: 'step 1 (traction).progression.mode: must be one of "progressive", "regressive", "both" (got "up")' },
    { what: "one progression step", steps: [{ type: "traction", target: 100, holdS: 5, restS: 5, cycles: 1, rate: 5, progression: { mode: "regressive", steps: 1 } }], line: "step 1 (traction).progression.steps: must be at least 2 (got 1)" },
    { what: "pump without amplitude", steps: [{ type: "pump", from: 30, to: 30, cycles: 1, speed: 3 }], line: 'step 1 (pump).to: must differ from "from" (both are 30)' },
    { what: "return before the end", steps: [{ type: "return" }, ok], line: "step 1 (return): must be the last step" },
    { what: "negative dwell", steps: [{ type: "pump", from: 0, to: 30, cycles: 1, speed: 3, dwellLow: -1 }], line: "step 1 (pump).dwellLow: must be at least 0 (got -1)" },
    { what: "infinite hold", steps: [{ type: "hold", seconds: Infinity }], line: "step 1 (hold).seconds: must be a number (got Infinity)" },
    { what: "only a return", steps: [{ type: "return" }], line: 'program "x": steps: must have a step besides return' },
    { what: "no steps", steps: [], line: 'program "x": steps: must have at least 1 item' },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const e = errorOf({ name: "x", steps: c.steps });
      expect(e.message).toContain(c.line);
      expect(e.message.split("\n")).toHaveLength(1);
    });
  }

  it("program-level problems name the field", () => {
    expect(errorOf({ steps: [ok] }).message).toBe("program: name: is required");
    expect(errorOf({ name: "has space", steps: [ok] }).message).toContain('program "has space": name: must be letters');
    expect(errorOf({ name: "x", limits: { tiltMin: 10, tiltMax: 5 }, steps: [ok] }).message).toBe('program "x": limits.tiltMin: must not be above tiltMax');
    expect(errorOf({ name: "x", limits: { speedMax: 200 }, steps: [ok] }).message).toBe('program "x": limits.speedMax: must be at most 90 (got 200)');
    expect(errorOf("hello").message).toBe("program: must be an object (got a string)");
    expect(errorOf(null).message).toBe("program: must be an object (got null)");
    expect(errorOf([]).message).toBe("program: must be an object (got a list)");
  });

  it("a program whose steps add up to far more than a session is refused, naming steps", () => {
    // Every field within its own bound: 500 pumps of 100 cycles would plan into ~200k actions.
    const pumps = Array.from({ length: 500 }, () => ({ type: "pump", from: -10, to: 20, cycles: 100, speed: 10 }));
    expect(errorOf({ name: "x", steps: pumps }).message).toBe(
      `program "x": steps: must have at most ${MAX_PROGRAM_CYCLES} pump and traction cycles in all (got 50000) (and 1 more problem)`,
    );
    const holds = Array.from({ length: 5 }, () => ({ type: "hold", seconds: 3600 }));
    expect(errorOf({ name: "x", steps: holds }).message).toBe(
      'program "x": steps: must take at most 4 h in all (these take at least 5 h in holds, rests, dwells, traction times, moves and force changes)',
    );
    // Dwells count at both ends of each cycle, and the pump moves at their cruise speed.
    const dwells = [{ type: "pump", from: 0, to: 30, cycles: 100, speed: 10, dwellHigh: 60, dwellLow: 90 }];
    expect(errorOf({ name: "x", steps: dwells }).message).toContain("steps: must take at most 4 h in all (these take at least 4.3 h");
    // Right at the bounds is fine.
    expect(parseProgram({ name: "x", steps: Array.from({ length: 4 }, () => ({ type: "hold", seconds: MAX_PROGRAM_S / 4 })) }).steps).toHaveLength(4);
    const cycles = Array.from({ length: MAX_PROGRAM_CYCLES / 100 }, () => ({ type: "pump", from: 0, to: 10, cycles: 100, speed: 10 }));
    expect(parseProgram({ name: "x", steps: cycles }).steps).toHaveLength(MAX_PROGRAM_CYCLES / 100);
  });

  it("prefixes the source and counts further problems", () => {
    const e = errorOf({ name: "x", steps: [{ type: "ramp", to: 100, speed: -1 }] }, "a.yaml");
    expect(e.message).toBe('a.yaml: program "x": step 1 (ramp).to: must be at most 90 (got 100) (and 1 more problem)');
    expect(e.problems).toHaveLength(2);
    expect(e.problems[1]).toMatchObject({ step: 1, stepType: "ramp", field: "speed" });
  });

  it("fills defaults: restPct 50 (Triton), dwell 0, rest speed", () => {
    const p = parseProgram({
      name: "d",
      steps: [
        { type: "traction", target: 100, holdS: 5, restS: 5, cycles: 1, rate: 5 },
        { type: "pump", from: 0, to: 10, cycles: 1, speed: 2 },
        { type: "rest", seconds: 3 },
      ],
    });
    expect(p.steps[0]).toMatchObject({ restPct: 50 });
    expect(p.steps[1]).toMatchObject({ dwell: 0 });
    expect(p.steps[2]).toMatchObject({ speed: 4 });
    expect(p.description).toBe("");
  });
});

describe("parseProgram: a corrupted field anywhere is reported at that step and field", () => {
  const validStep = fc.oneof(
    fc.record({ type: fc.constant("ramp"), to: fc.integer({ min: -80, max: 90 }), speed: fc.integer({ min: 1, max: 10 }) }),
    fc.record({ type: fc.constant("hold"), seconds: fc.integer({ min: 1, max: 600 }) }),
    fc.record({ type: fc.constant("pump"), from: fc.constant(0), to: fc.integer({ min: 1, max: 90 }), cycles: fc.integer({ min: 1, max: 10 }), speed: fc.integer({ min: 1, max: 10 }) }),
    fc.record({ type: fc.constant("traction"), target: fc.integer({ min: 1, max: 700 }), holdS: fc.integer({ min: 1, max: 60 }), restS: fc.integer({ min: 0, max: 60 }), cycles: fc.integer({ min: 1, max: 10 }), rate: fc.integer({ min: 1, max: 50 }) }),
  );
  // Values no numeric field accepts.
  const poison = fc.constantFrom<unknown>(-1000, 1e9, "ten", null, Number.NaN, true);

  it("names the 1-based step, its type and the field", () => {
    fc.assert(
      fc.property(fc.array(validStep, { minLength: 1, maxLength: 12 }), fc.nat(), fc.nat(), poison, (steps, si, fi, bad) => {
        const i = si % steps.length;
        const step = { ...steps[i] } as Record<string, unknown>;
        const fields = Object.keys(step).filter((k) => k !== "type");
        const field = fields[fi % fields.length] as string;
        step[field] = bad;
        const copy = steps.slice();
        copy[i] = step as (typeof steps)[number];
        const e = errorOf({ name: "prop", steps: copy });
        expect(e.message).toContain(`program "prop": step ${i + 1} (${String(step.type)}).${field}: `);
      }),
      { numRuns: 300 },
    );
  });

  it("accepts every valid program", () => {
    fc.assert(fc.property(fc.array(validStep, { minLength: 1, maxLength: 12 }), (steps) => {
      expect(parseProgram({ name: "prop", steps }).steps).toHaveLength(steps.length);
    }));
  });
});

describe("loadProgramFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "invert-programs-"));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it("reads YAML and JSON", () => {
    const y = write("a.yaml", "name: a\nsteps:\n  - type: ramp\n    to: 20\n    speed: 3\n  - type: hold\n    seconds: 60\n");
    expect(loadProgramFile(y).steps).toHaveLength(2);
    const j = write("b.json", JSON.stringify({ name: "b", steps: [ok] }));
    expect(loadProgramFile(j).name).toBe("b");
    const yml = write("c.yml", "name: c\nsteps: [{type: hold, seconds: 1}]\n");
    expect(loadProgramFile(yml).name).toBe("c");
  });

  it("reports YAML syntax errors with file and line on one line", () => {
    const p = write("bad.yaml", "name: a\nsteps:\n  - type: ramp\n    to: [20\n  - type: hold\n");
    const e = (() => { try { loadProgramFile(p); } catch (err) { return err as Error; } return undefined; })();
    expect(e).toBeInstanceOf(ProgramError);
    expect(e?.message).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: invalid YAML: `));
    expect(e?.message.split("\n")).toHaveLength(1);
  });

  it("reports duplicate YAML keys", () => {
    const p = write("dup.yaml", "name: a\nname: b\nsteps: [{type: hold, seconds: 1}]\n");
    expect(() => loadProgramFile(p)).toThrow(/dup\.yaml:2:\d+: invalid YAML: /);
  });

  it("reports schema errors with the file name", () => {
    const p = write("v.yaml", "name: v\nsteps:\n  - type: hold\n    seconds: -3\n");
    expect(() => loadProgramFile(p)).toThrow(`${p}: program "v": step 1 (hold).seconds: must be greater than 0 (got -3)`);
  });

  it("reports invalid JSON, missing files, directories and other extensions", () => {
    expect(() => loadProgramFile(write("x.json", "{ nope"))).toThrow(/x\.json: invalid JSON: /);
    expect(() => loadProgramFile(join(dir, "missing.yaml"))).toThrow(/missing\.yaml: cannot read: no such file$/);
    mkdirSync(join(dir, "d.yaml"));
    expect(() => loadProgramFile(join(dir, "d.yaml"))).toThrow(/d\.yaml: cannot read: is a directory$/);
    expect(() => loadProgramFile(write("p.txt", "x"))).toThrow(/p\.txt: unsupported file type ".txt"/);
  });

  it("a file too large to be a program is refused before it is read", () => {
    const big = write("big.yaml", `# ${"x".repeat(MAX_PROGRAM_FILE_BYTES)}\n`);
    expect(() => loadProgramFile(big)).toThrow(/big\.yaml: too large for a program \(\d+ bytes, at most 1048576\)$/);
  });

  it("YAML aliases that expand past the alias limit are invalid YAML naming the file, not a crash", () => {
    const lines = ["name: bomb", "a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const [name, prev] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"], ["f", "e"], ["g", "f"]]) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    const p = write("alias.yaml", `${lines.join("\n")}\nsteps: [{type: hold, seconds: 1}]\n`);
    const e = (() => { try { loadProgramFile(p); } catch (err) { return err as Error; } return undefined; })();
    expect(e).toBeInstanceOf(ProgramError);
    expect(e?.message).toBe(`${p}: invalid YAML: Excessive alias count indicates a resource exhaustion attack`);
  });

  it("a leading UTF-8 byte-order mark is ignored in JSON as in YAML", () => {
    expect(loadProgramFile(write("bom.json", `\uFEFF${JSON.stringify({ name: "bom", steps: [ok] })}`)).name).toBe("bom");
    expect(loadProgramFile(write("bom.yaml", "\uFEFFname: bom\nsteps: [{type: hold, seconds: 1}]\n")).name).toBe("bom");
  });

  it("an empty YAML file is refused, not crashed on", () => {
    expect(() => loadProgramFile(write("empty.yaml", ""))).toThrow(/empty\.yaml: program: must be an object \(got null\)/);
  });
});
