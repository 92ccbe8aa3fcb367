// Programs as users write them (JSON or YAML), validated with zod. Every bound here is a sanity bound on
// what a program may say at all; whether a program may run on a given device for a given user is decided
// later by src/limits/effective.ts, against the strictest of the device, profile and program limits.
//
// The session always ends with the slow return (descent, rest near horizontal, slow final rise), run by
// the session machine and by the firmware on its own if the link is lost. So `return` is implicit at the
// end of every program; an explicit `return` step is allowed only as the last step, to make that visible
// in the file, and compiles to nothing.
import { readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { LimitSetSchema, TILT_MAX_DEG, TILT_MIN_DEG } from "../limits/limit-set.js";
import { restForce } from "./compile.js";
import { describeIssue, ProgramError, programErrorLine, type ProgramProblem } from "./errors.js";

export { ProgramError } from "./errors.js";

/** Speed of the move to a `rest` angle when the step names none: the design default return speed. */
export const DEFAULT_REST_SPEED = 4;
/** Triton: rest force is 50% of the target during the rest time (DOMAIN.md section 3). */
export const DEFAULT_REST_PCT = 50;

const angle = z.number().min(TILT_MIN_DEG).max(TILT_MAX_DEG);
const speed = z.number().positive().max(90);
const seconds = z.number().positive().max(3600);
const dwell = z.number().min(0).max(600);
const cycles = z.number().int().min(1).max(100);
// Descriptions feed programs/program.schema.json, so editors can explain each field while a user types.
const label = z.string().min(1).max(60).optional().describe("Text shown in the live view for this step");

export const RampStep = z
  .strictObject({
    type: z.literal("ramp"),
    label,
    to: angle.describe("Target tilt, degrees (0 = horizontal, positive = head-down, -80 = upright)"),
    speed: speed.describe("Cruise speed, degrees/s (acceleration is the device's)"),
  })
  .describe("Tilt smoothly to an angle");
export const HoldStep = z
  .strictObject({ type: z.literal("hold"), label, seconds: seconds.describe("How long to stay, seconds") })
  .describe("Stay where the table and harness are");
export const PumpStep = z
  .strictObject({
    type: z.literal("pump"),
    label,
    from: angle.describe("Start and end angle of each cycle, degrees (the table moves here first)"),
    to: angle.describe("Other end of each cycle, degrees"),
    cycles: cycles.describe("Number of from -> to -> from cycles"),
    dwell: dwell.default(0).describe("Seconds at each end (default 0)"),
    dwellLow: dwell.optional().describe("Seconds at the lower angle (overrides dwell)"),
    dwellHigh: dwell.optional().describe("Seconds at the higher angle (overrides dwell)"),
    speed: speed.describe("Cruise speed, degrees/s"),
  })
  .describe("Rock between two angles: oscillation and intermittent inversion");
export const Progression = z
  .strictObject({
    mode: z
      .enum(["progressive", "regressive", "both"])
      .describe("progressive: climb to the target in equal steps before cycling; regressive: descend in equal steps after; both"),
    steps: z.number().int().min(2).max(20).describe("Number of equal steps between 0 and the target"),
    stepHoldS: z.number().positive().max(600).optional().describe("Seconds at each intermediate step (default holdS)"),
  })
  .describe("Triton-style progressive/regressive steps");
export const TractionStep = z
  .strictObject({
    type: z.literal("traction"),
    label,
    target: z.number().positive().max(5000).describe("Pull force during the hold, newtons"),
    restPct: z.number().min(0).max(100).default(DEFAULT_REST_PCT).describe("Rest force as % of the target (default 50, as the Triton)"),
    holdS: seconds.describe("Seconds at the target force in each cycle"),
    restS: z.number().min(0).max(3600).describe("Seconds at the rest force in each cycle"),
    cycles: cycles.describe("Number of hold/rest cycles"),
    rate: z.number().positive().max(1000).describe("Force change rate, newtons/s (also for the final release)"),
    progression: Progression.optional(),
  })
  .describe("Intermittent traction: pull, hold, ease to the rest force, rest; release gradually at the end");
export const RestStep = z
  .strictObject({
    type: z.literal("rest"),
    label,
    seconds: seconds.describe("How long to rest, seconds"),
    // Where to rest: horizontal by default when the program has moved the table; on a stretcher-only
    // program there is no table to move, so a rest is then only a pause.
    angle: angle.optional().describe("Rest angle, degrees (default 0 = horizontal, if the program moves the table)"),
    speed: speed.default(DEFAULT_REST_SPEED).describe(`Speed of the move to the rest angle, degrees/s (default ${DEFAULT_REST_SPEED})`),
  })
  .describe("Rest at an angle, horizontal by default");
export const ReturnStep = z
  .strictObject({ type: z.literal("return"), label })
  .describe("The slow return; it always runs at the end, so this step only makes it visible (last step only)");

export const StepSchema = z.discriminatedUnion("type", [RampStep, HoldStep, PumpStep, TractionStep, RestStep, ReturnStep]);

/**
 * Whole-program bounds. Guidance is minutes per session (DOMAIN.md section 2) and clinical traction
 * units stop at about 99 min (section 3); every field can be within its own bound while the steps add up
 * to a day of motion, which no session means and which the planner would expand into hundreds of thousands of actions.
 */
export const MAX_PROGRAM_S = 4 * 3600;
export const MAX_PROGRAM_CYCLES = 2000;

/**
 * Where the first move of a program starts: a session starts on the loading position (upright), as the
 * planner assumes by default. Which position that is belongs to the session, not to the program.
 */
const START_TILT = TILT_MIN_DEG;

const hours = (x: number) => `${(x / 3600).toFixed(1).replace(/\.0$/, "")} h`;
const degrees = (x: number) => `${Math.round(x * 10) / 10}°`;

/** Time one step spends moving the table or changing the force, at its own speed or rate. */
export interface StepMotion {
  step: number;
  field: "speed" | "rate";
  seconds: number;
  /** The start of a message: "a ramp of 60° at 0.001°/s takes". */
  what: string;
}

/**
 * Seconds a program takes at the least (acceleration only adds to it): its holds, rests, dwells and
 * traction times, and its moves and force changes at their cruise speed and rate, as compile.ts lays them
 * out. A tiny speed or rate is within its field's bound yet stretches a move without limit, so the motion
 * counts as much as the waits. Counted from the steps, not by compiling them: this runs on input that
 * may have failed other checks (a corrupted `cycles` of 1e9 would compile for ever), and it stays O(steps).
 */
export function minimumProgramSeconds(p: { steps: readonly Step[] }): { totalS: number; motion: StepMotion[] } {
  let total = 0;
  const motion: StepMotion[] = [];
  let tilt: number | undefined;
  const moveTo = (step: number, target: number, speed: number, what: (deg: number) => string) => {
    const d = Math.abs(target - (tilt ?? START_TILT));
    tilt = target;
    return { step, field: "speed" as const, seconds: d / speed, what: what(d) };
  };
  p.steps.forEach((s, i) => {
    let m: StepMotion | undefined;
    switch (s.type) {
      case "hold":
        total += s.seconds;
        break;
      case "rest": {
        total += s.seconds;
        // As compile.ts: horizontal by default once the table has moved, no move on a stretcher-only program.
        const at = s.angle ?? (tilt === undefined ? undefined : 0);
        if (at !== undefined) m = moveTo(i, at, s.speed, (d) => `the move of ${degrees(d)} to the rest angle at ${s.speed}°/s takes`);
        break;
      }
      case "ramp":
        m = moveTo(i, s.to, s.speed, (d) => `a ramp of ${degrees(d)} at ${s.speed}°/s takes`);
        break;
      case "pump": {
        const into = Math.abs(s.from - (tilt ?? START_TILT));
        const swing = 2 * s.cycles * Math.abs(s.to - s.from);
        tilt = s.from;
        total += s.cycles * ((s.dwellHigh ?? s.dwell) + (s.dwellLow ?? s.dwell));
        m = { step: i, field: "speed", seconds: (into + swing) / s.speed, what: `its moves (${degrees(into + swing)} in all) at ${s.speed}°/s take` };
        break;
      }
      case "traction": {
        const pr = s.progression;
        const down = pr !== undefined && pr.mode !== "progressive";
        const ends = pr ? (pr.mode === "both" ? 2 : 1) : 0;
        // With a regressive end the last cycle's rest gives way to the steps down (compile.ts).
        total += s.cycles * s.holdS + (s.cycles - (down ? 1 : 0)) * s.restS + ends * (pr ? pr.steps - 1 : 0) * (pr?.stepHoldS ?? s.holdS);
        // Up to the target and back to zero once (in steps or not), and down to the rest force and back
        // between cycles.
        const travel = 2 * s.target + 2 * (s.cycles - 1) * (s.target - restForce(s));
        m = { step: i, field: "rate", seconds: travel / s.rate, what: `its force changes (${Math.round(travel * 10) / 10} N in all) at ${s.rate} N/s take` };
        break;
      }
      case "return":
        break;
    }
    if (m) {
      total += m.seconds;
      motion.push(m);
    }
  });
  return { totalS: total, motion };
}

export const ProgramSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be letters, digits, '.', '_' or '-' (at most 64)")
      .describe("Program name, as typed on the command line"),
    description: z.string().max(1000).default("").describe("What the session does, in a sentence"),
    source: z.string().max(500).optional().describe("Where the program's shape comes from (a citation)"),
    limits: LimitSetSchema.optional().describe(
      "The program's own limits; a session uses the strictest of these, the user's profile and the device's hard limits",
    ),
    steps: z.array(StepSchema).min(1).max(500).describe("What the session does, in order"),
  })
  .superRefine((p, ctx) => {
    p.steps.forEach((s, i) => {
      if (s.type === "return" && i !== p.steps.length - 1) {
        ctx.addIssue({ code: "custom", path: ["steps", i], message: "must be the last step (every session ends with the slow return)" });
      }
      if (s.type === "pump" && s.from === s.to) {
        ctx.addIssue({ code: "custom", path: ["steps", i, "to"], message: `must differ from "from" (both are ${s.to})` });
      }
    });
    if (p.steps.every((s) => s.type === "return")) {
      ctx.addIssue({ code: "custom", path: ["steps"], message: "must have a step besides return" });
    }
    const cycles = p.steps.reduce((n, s) => n + (s.type === "pump" || s.type === "traction" ? s.cycles : 0), 0);
    if (cycles > MAX_PROGRAM_CYCLES) {
      ctx.addIssue({ code: "custom", path: ["steps"], message: `must have at most ${MAX_PROGRAM_CYCLES} pump and traction cycles in all (got ${cycles})` });
    }
    const { totalS, motion } = minimumProgramSeconds(p);
    if (totalS > MAX_PROGRAM_S) {
      // A step whose motion alone outlasts a program: its speed or rate is what to fix, not the program.
      const slow = motion.filter((m) => m.seconds > MAX_PROGRAM_S);
      for (const m of slow) {
        ctx.addIssue({
          code: "custom",
          path: ["steps", m.step, m.field],
          message: `${m.what} ${hours(m.seconds)}; a program may last at most ${hours(MAX_PROGRAM_S)}`,
        });
      }
      if (slow.length === 0) {
        ctx.addIssue({
          code: "custom",
          path: ["steps"],
          message: `must take at most ${hours(MAX_PROGRAM_S)} in all (these take at least ${hours(totalS)} in holds, rests, dwells, traction times, moves and force changes)`,
        });
      }
    }
  })
  .describe("An invert session program");

export type Program = z.output<typeof ProgramSchema>;
/** A program as written in a file, before defaults are filled in. */
export type ProgramInput = z.input<typeof ProgramSchema>;
export type Step = Program["steps"][number];
export type StepType = Step["type"];
export type PumpStepT = z.output<typeof PumpStep>;
export type TractionStepT = z.output<typeof TractionStep>;
export const STEP_TYPES: readonly StepType[] = ["ramp", "hold", "pump", "traction", "rest", "return"];

/** Validates a program; throws ProgramError with one line naming step (1-based), type, field and reason. */
export function parseProgram(input: unknown, source?: string): Program {
  const r = ProgramSchema.safeParse(input);
  if (r.success) return r.data;
  const problems: ProgramProblem[] = r.error.issues.map((i) => describeIssue(i, input));
  const rawName = input !== null && typeof input === "object" ? (input as { name?: unknown }).name : undefined;
  const name = typeof rawName === "string" && rawName.length <= 64 ? rawName : undefined;
  const line = programErrorLine(name, problems);
  throw new ProgramError(source ? `${source}: ${line}` : line, problems, source);
}

export const MAX_PROGRAM_FILE_BYTES = 1024 * 1024;

/** Reads a .json, .yaml or .yml program file; any failure is one line naming the file (and line). */
export function loadProgramFile(path: string): Program {
  const ext = extname(path).toLowerCase();
  if (ext !== ".json" && ext !== ".yaml" && ext !== ".yml") {
    throw new ProgramError(`${path}: unsupported file type "${ext || "(none)"}" (use .json, .yaml or .yml)`, [], path);
  }
  let text: string;
  try {
    // A program is a few kilobytes; refusing huge files keeps a wrong path from eating memory.
    const size = statSync(path).size;
    if (size > MAX_PROGRAM_FILE_BYTES) throw new ProgramError(`${path}: too large for a program (${size} bytes, at most ${MAX_PROGRAM_FILE_BYTES})`, [], path);
    // Editors on Windows may save UTF-8 with a byte-order mark: JSON.parse would refuse it with an invisible
    // character in the message, while YAML ignores it. Both read the same way without it.
    text = readFileSync(path, "utf8").replace(/^\uFEFF/, "");
  } catch (err) {
    if (err instanceof ProgramError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (err as Error).message;
    throw new ProgramError(`${path}: cannot read: ${why}`, [], path);
  }
  return parseProgram(ext === ".json" ? parseJsonText(text, path) : parseYamlText(text, path), path);
}

function parseJsonText(text: string, path: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ProgramError(`${path}: invalid JSON: ${(err as Error).message}`, [], path);
  }
}

function parseYamlText(text: string, path: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const e = doc.errors[0];
  if (e) {
    const where = e.linePos?.[0] ? `:${e.linePos[0].line}:${e.linePos[0].col}` : "";
    const what = e.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? "parse error";
    throw new ProgramError(`${path}${where}: invalid YAML: ${what}`, [], path);
  }
  try {
    // toJS expands aliases, and refuses (throws) when they multiply past yaml's maxAliasCount: a few
    // nested aliases can stand for billions of nodes.
    return doc.toJS() as unknown;
  } catch (err) {
    throw new ProgramError(`${path}: invalid YAML: ${(err instanceof Error ? err.message : String(err)).split("\n")[0]}`, [], path);
  }
}
