// Turns zod issues on a program into one line a user can act on: which step (1-based, as a person counts),
// which kind of step, which field, and why, with the value that was given. Kept apart from the schema so
// the wording lives in one place.
import type { z } from "zod";

export interface ProgramProblem {
  /** 1-based step number, when the problem is inside a step. */
  step?: number;
  stepType?: string;
  /** Dotted field path inside the step (or inside the program when `step` is absent). */
  field?: string;
  reason: string;
}

export class ProgramError extends Error {
  override readonly name = "ProgramError";
  constructor(
    message: string,
    readonly problems: ProgramProblem[],
    /** Where the program came from (file path or "builtin"), when known. */
    readonly source?: string,
  ) {
    super(message);
  }
}

type Issue = z.core.$ZodIssue;

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  if (Array.isArray(v)) return "a list";
  return "an object";
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

function reasonFor(issue: Issue, given: unknown): string {
  switch (issue.code) {
    case "too_big": {
      if (issue.origin === "array") return `must have at most ${issue.maximum} items (got ${Array.isArray(given) ? given.length : "?"})`;
      if (issue.origin === "string") return `must be at most ${issue.maximum} characters`;
      return `must be ${issue.inclusive ? "at most" : "less than"} ${issue.maximum} (got ${show(given)})`;
    }
    case "too_small": {
      if (issue.origin === "array") return `must have at least ${issue.minimum} item${issue.minimum === 1 ? "" : "s"}`;
      if (issue.origin === "string") return issue.minimum === 1 ? "must not be empty" : `must be at least ${issue.minimum} characters`;
      return `must be ${issue.inclusive ? "at least" : "greater than"} ${issue.minimum} (got ${show(given)})`;
    }
    case "invalid_type": {
      if (given === undefined) return "is required";
      if (issue.expected === "int") return `must be a whole number (got ${show(given)})`;
      const expected = issue.expected === "array" ? "a list" : issue.expected === "object" ? "an object" : `a ${issue.expected}`;
      const got = typeof given === "number" && !Number.isFinite(given) ? show(given) : kindOf(given);
      return `must be ${expected} (got ${got})`;
    }
    case "invalid_union": {
      if ("discriminator" in issue && issue.discriminator) {
        const options = (issue as { options?: unknown[] }).options ?? [];
        const what = given === undefined ? "is required" : `unknown step type ${show(given)}`;
        return `${what} (expected one of ${options.join(", ")})`;
      }
      return `is not valid (got ${show(given)})`;
    }
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")} (got ${show(given)})`;
    case "unrecognized_keys":
      return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    case "invalid_format":
      // A schema's own wording (e.g. which characters a name may use) beats zod's generic one.
      return `${issue.message.startsWith("Invalid") ? "has the wrong format" : issue.message} (got ${show(given)})`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor} (got ${show(given)})`;
    default:
      return issue.message;
  }
}

/** Describes one issue; `input` is the raw program so the message can show the value given. */
export function describeIssue(issue: Issue, input: unknown): ProgramProblem {
  const path = issue.path;
  const given = valueAt(input, path);
  const reason = reasonFor(issue, given);
  if (path[0] === "steps" && typeof path[1] === "number") {
    const index = path[1];
    const rawType = valueAt(input, ["steps", index, "type"]);
    const stepType = typeof rawType === "string" && rawType.length <= 20 ? rawType : undefined;
    const rest = path.slice(2).map(String);
    // A bad or missing `type` is reported on the step itself: the type is what is wrong.
    const field = rest.length === 0 || (rest.length === 1 && rest[0] === "type" && issue.code === "invalid_union") ? undefined : rest.join(".");
    return { step: index + 1, stepType: issue.code === "invalid_union" ? undefined : stepType, field, reason };
  }
  return { field: path.length ? path.map(String).join(".") : undefined, reason };
}

export function problemText(p: ProgramProblem): string {
  if (p.step !== undefined) {
    const head = `step ${p.step}${p.stepType ? ` (${p.stepType})` : ""}`;
    return p.field ? `${head}.${p.field}: ${p.reason}` : `${head}: ${p.reason}`;
  }
  return p.field ? `${p.field}: ${p.reason}` : p.reason;
}

/** One line: `program "x": step 3 (pump).to: must be at most 90 (got 120)` (+ how many more problems). */
export function programErrorLine(name: string | undefined, problems: ProgramProblem[]): string {
  const who = name ? `program ${JSON.stringify(name)}` : "program";
  const first = problems[0] ? problemText(problems[0]) : "is not valid";
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? "s" : ""})` : "";
  return `${who}: ${first}${more}`;
}
