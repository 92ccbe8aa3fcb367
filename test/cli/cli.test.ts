// The CLI as users and scripts meet it, driven as a subprocess with piped output (no terminal).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import * as bridge from "../../src/cli/commands/bridge.js";
import * as history from "../../src/cli/commands/history.js";
import * as profile from "../../src/cli/commands/profile.js";
import * as programs from "../../src/cli/commands/programs.js";
import * as report from "../../src/cli/commands/report.js";
import * as run from "../../src/cli/commands/run.js";
import * as sim from "../../src/cli/commands/sim.js";
import { ESCAPE, REPO, invert, startInvert, tempHome, type CliResult } from "./invert-process.js";

const version = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version;

/** Every command and subcommand; each must have --help with examples. */
const COMMANDS = [
  ["run"],
  ["sim"],
  ["programs"],
  ["programs", "list"],
  ["programs", "show"],
  ["programs", "validate"],
  ["programs", "plan"],
  ["profile"],
  ["profile", "create"],
  ["profile", "screen"],
  ["profile", "set"],
  ["profile", "show"],
  ["profile", "list"],
  ["profile", "delete"],
  ["history"],
  ["report"],
  ["bridge"],
  ["bridge", "sign"],
];

describe.concurrent("help, version and usage errors", () => {
  it("--help lists every command, examples and the exit codes", async () => {
    const r = await invert(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["run", "sim", "programs", "profile", "history", "report", "bridge"]) expect(r.out).toMatch(new RegExp(`^  ${c}\\b`, "m"));
    expect(r.out).toMatch(/Examples:\n {2}invert run --speed 50/);
    expect(r.out).toMatch(/Exit codes:[\s\S]*2 +bad input[\s\S]*130 +interrupted/);
  });

  it("every command's --help has examples that start with `invert <command>`", () => {
    // In-process (one load of the command modules, not one process per command); the list of
    // top-level commands is checked against the real `invert --help` above.
    const program = new Command("invert").exitOverride();
    for (const m of [profile, history, report, programs, bridge, sim, run]) m.register(program);
    const names = program.commands.map((c) => c.name()).filter((n) => n !== "help");
    expect(names.sort()).toEqual([...new Set(COMMANDS.map((c) => c[0]))].sort());
    for (const path of COMMANDS) {
      let cmd: Command = program;
      for (const part of path) cmd = cmd.commands.find((c) => c.name() === part) as Command;
      expect(cmd, path.join(" ")).toBeDefined();
      let text = "";
      cmd.configureOutput({ writeOut: (str) => (text += str), writeErr: (str) => (text += str) });
      cmd.outputHelp();
      expect(text, path.join(" ")).toMatch(/Examples?:/);
      expect(text, path.join(" ")).toMatch(new RegExp(`^ +invert ${path.join(" ")}\\b`, "m"));
    }
  });

  it("--version prints the package version", async () => {
    const r = await invert(["--version"]);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(version);
  });

  it("an unknown flag is one `invert:` line with the suggestion and the usage hint, exit 2", async () => {
    const r = await invert(["run", "--sped", "50"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("invert: unknown option '--sped' (Did you mean --speed?) (run with --help for usage)\n");
    expect(r.out).toBe("");
  });

  it("a bad device URI is refused in one line naming --device, exit 2", async () => {
    const r = await invert(["run", "--device", "usb:/dev/ttyUSB0"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^invert: --device: device "usb:\/dev\/ttyUSB0": /m);
    expect(r.err).not.toMatch(/connecting/);
  });

  it("errors carry a stack trace only with --verbose", async () => {
    const plain = await invert(["programs", "validate", "no-such-file.yaml"]);
    expect(plain.code).toBe(2);
    expect(plain.err.trim().split("\n")).toHaveLength(1);
    expect(plain.err).not.toMatch(/\n\s+at /);
    const verbose = await invert(["--verbose", "programs", "validate", "no-such-file.yaml"]);
    expect(verbose.code).toBe(2);
    expect(verbose.err).toMatch(/^invert: no-such-file\.yaml/);
    expect(verbose.err).toMatch(/\n\s+at /);
  });
});

describe.concurrent("--speed is for the simulator only", () => {
  it.each([["serial:/dev/ttyUSB0"], ["mqtt://localhost:1883/table-1"]])("refused on %s, exit 2, before connecting", async (device) => {
    const r = await invert(["run", "--device", device, "--speed", "50"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^invert: --speed: only the simulator can run faster than real time; .* is a real device$/m);
    expect(r.err).not.toMatch(/connecting/);
  });

  it("a speed that is not a positive number is refused, exit 2", async () => {
    const r = await invert(["run", "--speed", "fast"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^invert: --speed: must be a number above 0/m);
  });
});

describe.concurrent("program validation errors name the step and field", () => {
  const home = tempHome();
  const bad = join(home, "bad.yaml");
  writeFileSync(bad, "name: too-far\nsteps:\n  - type: ramp\n    to: 20\n    speed: 4\n  - type: pump\n    from: 10\n    to: 120\n    cycles: 2\n    speed: 3\n");

  it("programs validate: exit 2, one line with step 2 (pump).to", async () => {
    const r = await invert(["programs", "validate", bad], { home });
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/^invert: .*step 2 \(pump\)\.to: must be at most 90 \(got 120\)/);
  });

  it("run refuses the same file before connecting, exit 2", async () => {
    const r = await invert(["run", bad, "--speed", "50"], { home });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/step 2 \(pump\)\.to: must be at most 90/);
    expect(r.err).not.toMatch(/connecting/);
  });

  it("the example program in programs/examples validates", async () => {
    const r = await invert(["programs", "validate", "programs/examples/my-first-program.yaml"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^valid: my-first-program, 5 steps/);
  });
});

describe("full sessions on the embedded simulator, output piped", () => {
  let plain: CliResult;
  let json: CliResult;
  let combo: CliResult;
  beforeAll(async () => {
    // All at once: each takes a few seconds of wall time.
    [plain, json, combo] = await Promise.all([
      invert(["run", "--speed", "50"]),
      invert(["run", "--speed", "50", "--json"]),
      invert(["run", "combo", "--sim-model", "combo", "--speed", "200", "--json"]),
    ]);
  }, 120_000);

  it("invert run --speed 50 completes the guest session with plain timestamped lines, exit 0", () => {
    expect(plain.code).toBe(0);
    expect(plain.out).toBe("");
    expect(plain.err).not.toMatch(ESCAPE);
    expect(plain.err).toMatch(/^invert: guest beginner session/m);
    const lines = plain.err.trim().split("\n").slice(1);
    for (const l of lines) expect(l).toMatch(/^\[\d\d:\d\d:\d\d\] /);
    expect(plain.err).toMatch(/connecting to sim \(simulator at 50x\)/);
    expect(plain.err).toMatch(/plan: beginner: 2 steps, .* max angle 20°/);
    expect(plain.err).toMatch(/running \| step 1 ramp to 20°/);
    expect(plain.err).toMatch(/running \| step 2 hold 90 s/);
    expect(plain.err).toMatch(/returning \| rest/);
    // the rest near horizontal reads as 0.0°, never as a negative zero
    expect(plain.err).toMatch(/returning \| (rest|toPause) \| tilt 0\.0°/);
    expect(plain.err).not.toMatch(/-0\.0°|-0 N/);
    expect(lines.at(-1)).toMatch(/session completed: beginner, \d+:\d\d, max 20\.\d°, max speed 4\.\d°\/s$/);
  });

  it("invert run --speed 50 --json prints only the summary object on stdout (progress on stderr)", () => {
    expect(json.code).toBe(0);
    const s = JSON.parse(json.out) as { outcome: string; program: string; maxAngle: number; maxSpeed: number; durationS: number; events: unknown[]; guest: boolean; speed: number };
    expect(s.outcome).toBe("completed");
    expect(s.program).toBe("beginner");
    expect(s.guest).toBe(true);
    expect(s.speed).toBe(50);
    expect(s.maxAngle).toBeGreaterThan(19);
    expect(s.maxAngle).toBeLessThan(21);
    expect(s.maxSpeed).toBeLessThanOrEqual(4.2);
    expect(s.durationS).toBeGreaterThan(115);
    expect(Array.isArray(s.events)).toBe(true);
    expect(json.out).not.toMatch(ESCAPE);
    expect(json.err).toMatch(/\] \+\d+\.\ds running/);
  });

  it("a table + traction program runs on a combo simulator (--sim-model combo)", () => {
    expect(combo.code).toBe(0);
    const s = JSON.parse(combo.out) as { outcome: string; maxForce: number; maxAngle: number; finalForce: number };
    expect(s.outcome).toBe("completed");
    expect(s.maxForce).toBeGreaterThan(140);
    expect(s.maxForce).toBeLessThanOrEqual(200);
    expect(s.finalForce).toBeLessThan(10);
  });
});

describe("--sim-model", () => {
  it("is refused for anything but the embedded simulator, and for unknown models (exit 2)", async () => {
    const [real, unknown] = await Promise.all([
      invert(["run", "combo", "--sim-model", "combo", "--device", "serial:/dev/ttyUSB0"]),
      invert(["run", "combo", "--sim-model", "robot"]),
    ]);
    expect(real.code).toBe(2);
    expect(real.err).toMatch(/^invert: --sim-model: only for the embedded simulator/m);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^invert: --sim-model: expected table, stretcher or combo \(got "robot"\)/m);
  });
});

describe("Ctrl-C (SIGINT) without a terminal", () => {
  it("stops and returns slowly; a second SIGINT keeps returning; exit 130 only once upright", async () => {
    const p = startInvert(["run", "--speed", "20", "--json"]);
    // Holding head-down: the return from here takes about 100 s of session time (5 s of wall time).
    await p.waitForErr(/running \| step 2 hold/, 30_000);
    p.child.kill("SIGINT");
    await p.waitForErr(/invert: stopping: returning slowly to upright/, 10_000);
    p.child.kill("SIGINT");
    await p.waitForErr(/invert: still returning slowly/, 10_000);
    expect(p.child.exitCode).toBeNull();
    const { code, signal } = await p.exited;
    expect(signal).toBeNull();
    expect(code).toBe(130);
    const s = JSON.parse(p.out()) as { outcome: string; finalTilt: number; reason: string };
    expect(s.outcome).toBe("aborted");
    expect(s.finalTilt).toBeLessThan(-79);
    // The rest near horizontal happened after the first SIGINT: the return was the slow one.
    const afterStop = p.err().slice(p.err().indexOf("invert: stopping"));
    expect(afterStop).toMatch(/returning \| rest/);
    expect(afterStop).toMatch(/returning \| approach/);
  }, 60_000);
});
