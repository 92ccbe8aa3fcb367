// `invert programs ...`: list, show, validate and plan programs (built-in or from a JSON/YAML file),
// without a device: planning uses the design-default device (src/limits/device-defaults.ts).
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { stringify } from "yaml";
import { DEFAULT_DEVICE_AXES, DEFAULT_DEVICE_CAPS } from "../../limits/device-defaults.js";
import { TILT_MAX_DEG, TILT_MIN_DEG } from "../../limits/limit-set.js";
import { checkPlan, effectiveLimits, type CheckResult } from "../../limits/effective.js";
import { BUILTIN_PROGRAMS, builtinNames, getBuiltin } from "../../programs/library.js";
import { MAX_SAMPLES, planProgram, planReturnAfter, sampleCount, sessionReturnProfile, type Plan } from "../../programs/plan.js";
import { loadProgramFile, ProgramError, type Program, type Step } from "../../programs/schema.js";
import { json, table } from "../../users/cli-io.js";

export interface ProgramsIO {
  out(text: string): void;
  err(text: string): void;
}

/** Refusals carry exit code 2 (bad input), which src/cli/main.ts passes on. */
export class ProgramsCliError extends Error {
  override readonly name = "ProgramsCliError";
  readonly exitCode = 2;
}

const DEFAULT_TILT = DEFAULT_DEVICE_AXES.tilt as NonNullable<typeof DEFAULT_DEVICE_AXES.tilt>;

/** A device allowing everything the program schema allows, to check a program against its own limits alone. */
const WIDEST_AXES = {
  tilt: { min: TILT_MIN_DEG, max: TILT_MAX_DEG, upright: TILT_MIN_DEG, speedMax: 90, returnSpeed: DEFAULT_TILT.returnSpeed },
  traction: { max: 5000, rateMax: 1000 },
};

interface KinFlags {
  startTilt?: string;
  accel?: string;
}

function num(flag: string, v: string | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min || n > max) throw new ProgramsCliError(`${flag}: must be a number from ${min} to ${max} (got "${v}")`);
  return n;
}

function kinematics(o: KinFlags) {
  return {
    startTilt: num("--start-tilt", o.startTilt, DEFAULT_TILT.upright, DEFAULT_TILT.min, DEFAULT_TILT.max),
    accel: num("--accel", o.accel, DEFAULT_TILT.accelMax ?? 10, 0.1, 1000),
  };
}

const isFileLike = (ref: string) => /\.(ya?ml|json)$/i.test(ref) || ref.includes("/") || ref.includes("\\");

/** A built-in name or a program file. */
export function resolveProgram(ref: string): Program {
  const builtin = getBuiltin(ref);
  if (builtin) return builtin;
  if (isFileLike(ref) || existsSync(ref)) {
    try {
      return loadProgramFile(ref);
    } catch (err) {
      if (err instanceof ProgramError) throw new ProgramsCliError(err.message);
      throw err;
    }
  }
  throw new ProgramsCliError(`unknown program "${ref}" (built-ins: ${builtinNames().join(", ")}; or give a .yaml/.json file)`);
}

/** A stretcher-only program never moves the table: its angles are only the start position. */
const movesTable = (plan: Plan) => plan.actions.some((a) => a.kind === "move");

const r1 = (x: number) => Math.round(x * 10) / 10;

export function formatDuration(s: number): string {
  const t = Math.round(s);
  if (t < 60) return `${t} s`;
  const m = Math.floor(t / 60);
  const rest = t % 60;
  return rest ? `${m} min ${rest} s` : `${m} min`;
}

function describeStep(s: Step): string {
  switch (s.type) {
    case "ramp":
      return `to ${s.to}° at ${s.speed}°/s`;
    case "hold":
      return `${s.seconds} s`;
    case "pump": {
      const dw = s.dwellLow !== undefined || s.dwellHigh !== undefined ? `dwell ${s.dwellLow ?? s.dwell}/${s.dwellHigh ?? s.dwell} s` : `dwell ${s.dwell} s`;
      return `${s.from}° <-> ${s.to}°, ${s.cycles} cycles at ${s.speed}°/s, ${dw}`;
    }
    case "traction": {
      const prog = s.progression ? `, ${s.progression.mode} in ${s.progression.steps} steps` : "";
      return `${s.target} N for ${s.holdS} s, rest ${s.restPct}% for ${s.restS} s, ${s.cycles} cycles at ${s.rate} N/s${prog}`;
    }
    case "rest":
      return `${s.seconds} s${s.angle !== undefined ? ` at ${s.angle}°` : ""}`;
    case "return":
      return "slow return (always runs at the end)";
  }
}

/** Check against the program's own limits and the design-default device (no profile is known here). */
function defaultCheck(p: Program, plan: Plan): CheckResult {
  return checkPlan(plan, effectiveLimits(DEFAULT_DEVICE_AXES, {}, p.limits ?? {}), DEFAULT_DEVICE_CAPS);
}

function planSummary(p: Program, plan: Plan) {
  const back = planReturnAfter(plan, sessionReturnProfile(DEFAULT_DEVICE_AXES, p.limits));
  const check = defaultCheck(p, plan);
  return {
    name: p.name,
    totalS: r1(plan.totalS),
    returnS: r1(back.totalS),
    maxAngle: plan.maxAngle,
    minAngle: plan.minAngle,
    maxSpeed: r1(plan.maxSpeed),
    maxForce: plan.maxForce,
    headDownS: r1(plan.headDownS),
    check: check.ok ? { ok: true as const } : check,
    steps: plan.steps.map((s) => ({ ...s, startS: r1(s.startS), durationS: r1(s.durationS), maxSpeed: r1(s.maxSpeed) })),
  };
}

export function registerWith(program: Command, io: ProgramsIO): void {
  const cmd = program
    .command("programs")
    .description("list, show, validate and plan session programs (built-in, or your own JSON/YAML files)")
    .addHelpText(
      "after",
      `
Examples:
  invert programs list
  invert programs show gentle-oscillation
  invert programs show beginner --yaml > my-program.yaml
  invert programs validate programs/examples/my-first-program.yaml
  invert programs plan oscillation
  invert programs plan my-program.yaml --json

Plans start upright (${DEFAULT_TILT.upright}°) on a device with the design-default limits
(tilt ${DEFAULT_TILT.min}..${DEFAULT_TILT.max}°, ${DEFAULT_TILT.speedMax}°/s, ${DEFAULT_TILT.accelMax}°/s², traction ${DEFAULT_DEVICE_AXES.traction?.max} N at ${DEFAULT_DEVICE_AXES.traction?.rateMax} N/s,
at most ${DEFAULT_DEVICE_CAPS.maxInvertedS} s head-down).
Every session ends with the slow return, whether or not the program has a \`return\` step.
`,
    );

  cmd
    .command("list")
    .description("list the built-in programs")
    .addHelpText("after", `\nExamples:\n  invert programs list\n  invert programs list --json`)
    .option("--json", "print JSON")
    .action((o: { json?: boolean }) => {
      const rows = Object.values(BUILTIN_PROGRAMS).map((p) => {
        const plan = planProgram(p, kinematics({}));
        const tilt = movesTable(plan);
        return { name: p.name, description: p.description, source: p.source, steps: p.steps.length, totalS: r1(plan.totalS), maxAngle: tilt ? plan.maxAngle : null, maxForce: plan.maxForce };
      });
      if (o.json) return io.out(json(rows));
      io.out(table(["NAME", "TIME", "MAX ANGLE", "MAX FORCE", "DESCRIPTION"], rows.map((r) => [
        r.name, formatDuration(r.totalS), r.maxAngle === null ? "-" : `${r.maxAngle}°`, r.maxForce ? `${r.maxForce} N` : "-", r.description,
      ])));
    });

  cmd
    .command("show <NAME|FILE>")
    .description("show a program's steps, limits and source")
    .addHelpText("after", `\nExamples:\n  invert programs show beginner\n  invert programs show oscillation --json\n  invert programs show beginner --yaml > my-program.yaml`)
    .option("--json", "print the program as JSON")
    .option("--yaml", "print the program as YAML (a starting point for your own file)")
    .action((ref: string, o: { json?: boolean; yaml?: boolean }) => {
      const p = resolveProgram(ref);
      if (o.json) return io.out(json(p));
      if (o.yaml) return io.out(stringify(p));
      const lim = p.limits ? Object.entries(p.limits).map(([k, v]) => `${k} ${v}`).join(", ") : "none (device and profile limits apply)";
      io.out(
        `${p.name}: ${p.description}\n` +
          (p.source ? `source: ${p.source}\n` : "") +
          `program limits: ${lim}\n\n` +
          table(["STEP", "TYPE", "WHAT"], p.steps.map((s, i) => [String(i + 1), s.type, (s.label ? `${s.label}: ` : "") + describeStep(s)])),
      );
    });

  cmd
    .command("validate <FILE>")
    .description("check a program file; exit 0 if valid, 2 with one line naming the step and field if not")
    .addHelpText("after", `\nExamples:\n  invert programs validate programs/examples/my-first-program.yaml\n  invert programs validate my-program.yaml --start-tilt 0`)
    .option("--start-tilt <DEG>", "tilt at the start, for the planned time", String(DEFAULT_TILT.upright))
    .action((file: string, o: KinFlags) => {
      const p = resolveProgram(file);
      const plan = planProgram(p, kinematics(o));
      // Beyond its own declared limits is an error in the file; beyond the default device, a warning
      // (real devices advertise their own limits).
      const own = checkPlan(plan, effectiveLimits(WIDEST_AXES, {}, p.limits ?? {}));
      if (!own.ok) throw new ProgramsCliError(`${file}: program "${p.name}": ${own.message}`);
      const check = defaultCheck(p, plan);
      if (!check.ok) io.err(`warning: on a device with the default limits, ${check.message}\n`);
      io.out(`valid: ${p.name}, ${p.steps.length} step${p.steps.length === 1 ? "" : "s"}, ${r1(plan.totalS / 60)} min, max ${plan.maxAngle} deg\n`);
    });

  cmd
    .command("plan <NAME|FILE>")
    .description("the planned trajectory: total time, max angle, speed and force, and a step table")
    .addHelpText("after", `\nExamples:\n  invert programs plan oscillation\n  invert programs plan programs/examples/my-first-program.yaml --json --samples 1`)
    .option("--json", "print JSON")
    .option("--start-tilt <DEG>", "tilt at the start", String(DEFAULT_TILT.upright))
    .option("--accel <DEG_PER_S2>", "tilt acceleration", String(DEFAULT_TILT.accelMax))
    .option("--samples <SECONDS>", "with --json: also print the trajectory sampled every SECONDS")
    .action((ref: string, o: KinFlags & { json?: boolean; samples?: string }) => {
      const p = resolveProgram(ref);
      const plan = planProgram(p, kinematics(o));
      const s = planSummary(p, plan);
      const tilt = movesTable(plan);
      if (o.json) {
        const every = o.samples === undefined ? undefined : num("--samples", o.samples, 1, 0.01, 3600);
        // Checked here so that a step too fine for a long program is a usage error naming the flag.
        if (every !== undefined && sampleCount(plan.totalS, every) > MAX_SAMPLES) {
          const least = Math.ceil((plan.totalS / (MAX_SAMPLES - 2)) * 100) / 100;
          throw new ProgramsCliError(
            `--samples: every ${every} s over ${formatDuration(plan.totalS)} is ${sampleCount(plan.totalS, every)} samples, at most ${MAX_SAMPLES} (use --samples ${least} or more)`,
          );
        }
        return io.out(json({ ...s, ...(every ? { samples: plan.samples(every) } : {}) }));
      }
      io.out(
        `${p.name}: ${formatDuration(s.totalS)}${s.returnS > 0 ? `, then about ${formatDuration(s.returnS)} of slow return` : ""}\n` +
          [
            tilt ? `max angle ${s.maxAngle}°, min angle ${s.minAngle}°, max speed ${s.maxSpeed}°/s, ${formatDuration(s.headDownS)} head-down` : "the table does not move",
            s.maxForce > 0 ? `max force ${s.maxForce} N` : "no traction",
          ].join(", ") + "\n" +
          (s.check.ok ? "within the program's limits and the default device's\n" : `refused on the default device: ${s.check.message}\n`) +
          "\n" +
          table(["STEP", "TYPE", "START", "TIME", "MAX ANGLE", "MAX FORCE", "WHAT"], s.steps.map((x) => [
            String(x.step), x.type, formatDuration(x.startS), formatDuration(x.durationS), tilt ? `${x.maxTilt}°` : "-", `${x.maxForce} N`, x.label,
          ])),
      );
    });
}

export function register(program: Command): void {
  registerWith(program, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
}
