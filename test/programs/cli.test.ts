import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerWith } from "../../src/cli/commands/programs.js";
import { programJsonSchemaText } from "../../src/programs/json-schema.js";
import { BUILTIN_PROGRAMS } from "../../src/programs/library.js";
import { loadProgramFile } from "../../src/programs/schema.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const examples = join(root, "programs", "examples");

async function run(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = "";
  let err = "";
  const program = new Command().exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  registerWith(program, { out: (s) => (out += s), err: (s) => (err += s) });
  try {
    await program.parseAsync(["node", "invert", "programs", ...args]);
    return { out, err, code: 0 };
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode ?? 1;
    return { out, err: err + (e instanceof Error ? e.message : String(e)), code };
  }
}

const dir = mkdtempSync(join(tmpdir(), "invert-cli-"));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe("invert programs", () => {
  it("list shows every built-in; --json gives their planned figures", async () => {
    const r = await run("list");
    for (const name of Object.keys(BUILTIN_PROGRAMS)) expect(r.out).toContain(name);
    const j = JSON.parse((await run("list", "--json")).out) as { name: string; maxAngle: number | null; maxForce: number }[];
    expect(j.map((x) => x.name)).toEqual(Object.keys(BUILTIN_PROGRAMS));
    expect(j.find((x) => x.name === "oscillation")?.maxAngle).toBe(60);
    expect(j.find((x) => x.name === "intermittent-traction")).toMatchObject({ maxAngle: null, maxForce: 250 });
  });

  it("show prints steps and source; --json round-trips; --yaml gives a file that validates", async () => {
    const r = await run("show", "gentle-oscillation");
    expect(r.out).toContain("source: DOMAIN.md §2");
    expect(r.out).toMatch(/2\s+pump\s+0° <-> 45°, 6 cycles/);
    expect(JSON.parse((await run("show", "combo", "--json")).out)).toEqual(BUILTIN_PROGRAMS.combo);
    const y = file("from-show.yaml", (await run("show", "beginner", "--yaml")).out);
    expect(loadProgramFile(y)).toEqual(BUILTIN_PROGRAMS.beginner);
  });

  it("validate: exit 0 with a summary line", async () => {
    const p = file("ok.yaml", "name: ok\nsteps:\n  - {type: ramp, to: 20, speed: 4}\n  - {type: hold, seconds: 60}\n");
    const r = await run("validate", p, "--start-tilt", "0");
    // 20 deg at 4 deg/s with 10 deg/s^2 from horizontal: 5.4 s, then 60 s
    expect(r).toEqual({ out: "valid: ok, 2 steps, 1.1 min, max 20 deg\n", err: "", code: 0 });
  });

  it("validate: exit 2 with one line naming the step and field", async () => {
    const p = file("bad.yaml", "name: bad\nsteps:\n  - {type: ramp, to: 20, speed: 4}\n  - {type: hold, seconds: 60}\n  - {type: pump, from: 0, to: 120, cycles: 2, speed: 3}\n");
    const r = await run("validate", p);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toBe(`${p}: program "bad": step 3 (pump).to: must be at most 90 (got 120)`);
  });

  it("validate: a program beyond its own limits is invalid; beyond the default device only warned", async () => {
    const own = file("own.yaml", "name: own\nlimits: {tiltMax: 30}\nsteps:\n  - {type: ramp, to: 40, speed: 4}\n");
    expect(await run("validate", own)).toMatchObject({ code: 2, err: `${own}: program "own": step 1 (ramp) goes to 40 deg but the program limit is 30 deg` });
    const fast = file("fast.yaml", "name: fast\nsteps:\n  - {type: ramp, to: 40, speed: 20}\n");
    const r = await run("validate", fast);
    expect(r.code).toBe(0);
    expect(r.err).toBe("warning: on a device with the default limits, step 1 (ramp) moves at 20 deg/s but the device limit is 10 deg/s\n");
  });

  it("validate warns, and plan says refused, when the time head-down is over the default device's cap", async () => {
    const long = file("long.yaml", "name: long\nsteps:\n  - {type: ramp, to: 30, speed: 5}\n  - {type: hold, seconds: 900}\n");
    const v = await run("validate", long);
    expect(v.code).toBe(0);
    expect(v.err).toMatch(/^warning: on a device with the default limits, step 2 \(hold\) keeps the user head-down for \d+ s/);
    expect((await run("plan", long)).out).toMatch(/\nrefused on the default device: step 2 \(hold\) keeps the user head-down/);
  });

  it("validate/plan: YAML errors and unknown names are one line with exit 2", async () => {
    const y = file("broken.yaml", "name: x\nsteps: [\n");
    const r = await run("validate", y);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken\.yaml:\d+:\d+: invalid YAML: /);
    expect(r.err.split("\n")).toHaveLength(1);
    expect(await run("plan", "no-such-program")).toMatchObject({ code: 2, err: expect.stringContaining('unknown program "no-such-program" (built-ins: beginner,') });
    expect(await run("plan", "beginner", "--accel", "fast")).toMatchObject({ code: 2, err: '--accel: must be a number from 0.1 to 1000 (got "fast")' });
  });

  it("plan: --samples too fine for the program is a usage error naming the flag", async () => {
    // About 3.5 h: within the program bounds, but 0.01 s steps would be over a million samples.
    const long = file("long-pump.json", JSON.stringify({ name: "long-pump", steps: [{ type: "pump", from: -10, to: 20, cycles: 100, speed: 10, dwell: 60 }] }));
    const r = await run("plan", long, "--json", "--samples", "0.01");
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^--samples: every 0\.01 s over 213 min 28 s is 1280801 samples, at most 1000000 \(use --samples 0\.02 or more\)$/);
    const ok = JSON.parse((await run("plan", long, "--json", "--samples", "0.02")).out) as { samples: unknown[] };
    expect(ok.samples.length).toBeLessThanOrEqual(1_000_000);
  });

  it("plan: totals, extremes and a step table; --json with samples", async () => {
    const r = await run("plan", "oscillation");
    // Pumping ends at horizontal, but the user has been head-down: the return rests there for a minute.
    expect(r.out).toMatch(/^oscillation: 3 min \d+ s, then about 1 min \d+ s of slow return\n/);
    expect(r.out).toMatch(/max angle 60°, min angle -80°, max speed 8°\/s, \d+ min \d+ s head-down, no traction\n/);
    expect(r.out).toMatch(/\n2\s+pump\s+/);
    const j = JSON.parse((await run("plan", "beginner", "--json", "--samples", "10", "--start-tilt", "0")).out) as {
      totalS: number; maxAngle: number; check: { ok: boolean }; steps: unknown[]; samples: { t: number; tilt: number }[];
    };
    expect(j).toMatchObject({ maxAngle: 20, check: { ok: true } });
    expect(j.steps).toHaveLength(2);
    expect(j.samples[0]).toMatchObject({ t: 0, tilt: 0 });
    expect(j.samples.at(-1)).toMatchObject({ tilt: 20 });
    expect(j.samples.at(-1)?.t).toBeCloseTo(j.totalS, 1);
  });
});

describe("programs/examples", () => {
  const files = readdirSync(examples).filter((f) => /\.(ya?ml|json)$/.test(f));
  it("has the README's example", () => {
    expect(files).toContain("my-first-program.yaml");
  });
  for (const f of files) {
    it(`${f} validates`, async () => {
      const r = await run("validate", join(examples, f));
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^valid: /);
    });
  }
});

describe("the installed command", () => {
  it("exits 2 through src/cli/main.ts on an invalid file, 0 on a valid one", () => {
    const bad = file("bad-bin.json", JSON.stringify({ name: "b", steps: [{ type: "hold", seconds: 0 }] }));
    const r = spawnSync(process.execPath, [join(root, "bin", "invert.js"), "programs", "validate", bad], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`invert: ${bad}: program "b": step 1 (hold).seconds: must be greater than 0 (got 0)\n`);
    const ok = spawnSync(process.execPath, [join(root, "bin", "invert.js"), "programs", "validate", join(examples, "my-first-program.yaml")], { encoding: "utf8", timeout: 30_000 });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^valid: my-first-program, 5 steps, [\d.]+ min, max 30 deg\n$/);
  });
});

describe("the installed command on hostile program files", () => {
  const bin = (...args: string[]) => spawnSync(process.execPath, [join(root, "bin", "invert.js"), ...args], { encoding: "utf8", timeout: 30_000 });

  it("a YAML alias bomb is bad input (exit 2, one line naming the file), not an internal error", () => {
    const lines = ["name: bomb", "a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const [name, prev] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"], ["f", "e"], ["g", "f"]]) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    const p = file("bomb.yaml", `${lines.join("\n")}\nsteps: [{type: hold, seconds: 1}]\n`);
    const r = bin("programs", "validate", p);
    expect(r.stderr).toBe(`invert: ${p}: invalid YAML: Excessive alias count indicates a resource exhaustion attack\n`);
    expect(r.status).toBe(2);
  });

  it("500 pump steps of 100 cycles are refused naming steps, not a stack overflow", () => {
    const steps = Array.from({ length: 500 }, () => ({ type: "pump", from: -10, to: 20, cycles: 100, speed: 10, dwell: 1 }));
    const p = file("many-steps.json", JSON.stringify({ name: "many", steps }));
    const r = bin("programs", "validate", p);
    expect(r.stderr).toMatch(new RegExp(`^invert: ${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: program "many": steps: must have at most 2000 pump and traction cycles in all \\(got 50000\\)`));
    expect(r.status).toBe(2);
  });
});

describe("programs/program.schema.json", () => {
  it("is the current JSON Schema of the program format (regenerate with src/programs/json-schema.ts)", () => {
    expect(readFileSync(join(root, "programs", "program.schema.json"), "utf8")).toBe(programJsonSchemaText());
  });
});
