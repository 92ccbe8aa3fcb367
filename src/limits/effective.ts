// THE ONE PLACE WHERE LIMITS ARE COMBINED.
//
// Three sources limit what a session may do: the device's hard limits (advertised in `caps`), the user's
// soft limits (their profile) and the program's own limits. The effective limit of each field is the
// strictest of the three: the smallest of the maxima and the largest of the minima. Nothing else in the
// companion combines limits: preflight calls effectiveLimits(), a program that asks for more is refused by
// checkProgram()/checkPlan() before any motion, and clampToLimits() is the last line of defence applied to
// every move/force before it is sent, so a bug elsewhere can never command past a limit.
// (The firmware enforces its own hard limits independently: two layers, neither trusting the other.)
import type { CapsMsg } from "../../protocol/index.js";
import type { Action } from "../programs/compile.js";
import { compileProgram } from "../programs/compile.js";
import { sessionReturnProfile, type PlanSegment } from "../programs/plan.js";
import type { Program } from "../programs/schema.js";
import { LIMIT_FIELDS, type LimitSet } from "./limit-set.js";

export type { LimitSet } from "./limit-set.js";
export type LimitSource = "device" | "profile" | "program";
export type LimitField = keyof LimitSet;

export interface EffectiveLimits {
  tiltMin: number;
  tiltMax: number;
  speedMax: number;
  forceMax: number;
  rateMax: number;
  /** Which source set each field (on a tie: device, then profile, then program). */
  source: Record<LimitField, LimitSource>;
  /** Axes the device has. Fields of a missing axis are 0 and must not be sent in a `limits` message. */
  axes: { tilt: boolean; traction: boolean };
}

export class LimitsError extends Error {
  override readonly name = "LimitsError";
}

const SOURCES: readonly LimitSource[] = ["device", "profile", "program"];

function check(value: number | undefined, field: LimitField, source: LimitSource): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new LimitsError(`${source} limit ${field}: must be a finite number (got ${String(value)})`);
  }
  return value;
}

/** Strictest per field; `lower` fields (tiltMin) take the largest value, the others the smallest. */
function strictest(field: LimitField, values: (number | undefined)[]): { value: number; source: LimitSource } | undefined {
  const lower = field === "tiltMin";
  let best: { value: number; source: LimitSource } | undefined;
  values.forEach((raw, i) => {
    const source = SOURCES[i] as LimitSource;
    const v = check(raw, field, source);
    if (v === undefined) return;
    if (!best || (lower ? v > best.value : v < best.value)) best = { value: v, source };
  });
  return best;
}

function deviceLimitSet(device: CapsMsg["axes"]): LimitSet {
  const out: LimitSet = {};
  if (device.tilt) Object.assign(out, { tiltMin: device.tilt.min, tiltMax: device.tilt.max, speedMax: device.tilt.speedMax });
  if (device.traction) Object.assign(out, { forceMax: device.traction.max, rateMax: device.traction.rateMax });
  return out;
}

export function effectiveLimits(device: CapsMsg["axes"], profile: LimitSet = {}, program: LimitSet = {}): EffectiveLimits {
  const dev = deviceLimitSet(device);
  const axes = { tilt: device.tilt !== undefined, traction: device.traction !== undefined };
  const out = { axes, source: {} as Record<LimitField, LimitSource> } as EffectiveLimits;
  for (const field of LIMIT_FIELDS) {
    const axisPresent = field === "forceMax" || field === "rateMax" ? axes.traction : axes.tilt;
    // A device without the axis allows nothing on it, whatever the profile or program say.
    const best = axisPresent ? strictest(field, [dev[field], profile[field], program[field]]) : { value: 0, source: "device" as const };
    if (!best) throw new LimitsError(`device limit ${field}: missing`);
    out[field] = best.value;
    out.source[field] = best.source;
  }
  return out;
}

/** The fields of the wire `limits` message for these limits (only the axes the device has). */
export function limitsMessageFields(lim: EffectiveLimits): LimitSet {
  return {
    ...(lim.axes.tilt ? { tiltMin: lim.tiltMin, tiltMax: lim.tiltMax, speedMax: lim.speedMax } : {}),
    ...(lim.axes.traction ? { forceMax: lim.forceMax, rateMax: lim.rateMax } : {}),
  };
}

export type CheckResult =
  | { ok: true }
  | {
      ok: false;
      /** 1-based program step; 0 when the limits themselves conflict. */
      step: number;
      stepType?: string;
      field: string;
      limit: number;
      asked: number;
      source?: LimitSource;
      message: string;
    };

/** Float noise from unit conversions must not refuse a program that asks for exactly the limit. */
const EPS = 1e-9;

function stepName(a: Action): string {
  return `step ${a.step}${a.stepType ? ` (${a.stepType})` : ""}`;
}

function fail(a: Action, field: LimitField | "axis", asked: number, lim: EffectiveLimits, what: string): CheckResult {
  if (field === "axis") {
    return { ok: false, step: a.step, stepType: a.stepType, field, limit: 0, asked, source: "device", message: `${stepName(a)} ${what}` };
  }
  const limit = lim[field];
  const source = lim.source[field];
  const kind = field === "tiltMin" ? "minimum" : "limit";
  return { ok: false, step: a.step, stepType: a.stepType, field, limit, asked, source, message: `${stepName(a)} ${what} but the ${source} ${kind} is ${limit} ${UNIT[field]}` };
}

const UNIT: Record<LimitField, string> = { tiltMin: "deg", tiltMax: "deg", speedMax: "deg/s", forceMax: "N", rateMax: "N/s" };

/** First action (in program order) that needs more than the limits, or ok. */
export function checkActions(actions: readonly Action[], lim: EffectiveLimits): CheckResult {
  if (actions.some((a) => a.kind === "move") && lim.tiltMin > lim.tiltMax + EPS) {
    return {
      ok: false, step: 0, field: "tiltMin", limit: lim.tiltMax, asked: lim.tiltMin, source: lim.source.tiltMin,
      message: `the limits leave no room to move: tiltMin ${lim.tiltMin} deg (${lim.source.tiltMin}) is above tiltMax ${lim.tiltMax} deg (${lim.source.tiltMax})`,
    };
  }
  for (const a of actions) {
    if (a.kind === "move") {
      if (!lim.axes.tilt) return fail(a, "axis", a.target, lim, "moves the table but the device has no tilt axis");
      if (a.target > lim.tiltMax + EPS) return fail(a, "tiltMax", a.target, lim, `goes to ${a.target} deg`);
      if (a.target < lim.tiltMin - EPS) return fail(a, "tiltMin", a.target, lim, `goes to ${a.target} deg`);
      if (a.speed > lim.speedMax + EPS) return fail(a, "speedMax", a.speed, lim, `moves at ${a.speed} deg/s`);
    } else if (a.kind === "force") {
      if (!lim.axes.traction) return fail(a, "axis", a.target, lim, "pulls but the device has no traction axis");
      if (a.target > lim.forceMax + EPS) return fail(a, "forceMax", a.target, lim, `pulls ${a.target} N`);
      if (a.rate > lim.rateMax + EPS) return fail(a, "rateMax", a.rate, lim, `changes force at ${a.rate} N/s`);
    }
  }
  return { ok: true };
}

/**
 * Checks a planned program against the limits (only its actions matter: the trajectory never goes past
 * its targets) and, when the device's caps are given, against its cap on time head-down.
 */
export function checkPlan(plan: { actions: readonly Action[]; segments?: readonly PlanSegment[] }, lim: EffectiveLimits, caps?: InvertedTimeCaps): CheckResult {
  const r = checkActions(plan.actions, lim);
  if (!r.ok || !caps || !plan.segments) return r;
  return checkInvertedTime({ segments: plan.segments }, caps, lim);
}

export type InvertedTimeCaps = Pick<CapsMsg, "maxInvertedS" | "axes">;
/**
 * Share of the firmware's time-inverted cap a plan may use: a real session runs a little slower than its
 * plan (ack round trips, tracking), and the firmware's cap must stay a last resort, never the way a
 * normal session ends.
 */
export const INVERTED_TIME_MARGIN = 0.9;

/**
 * Refuses a plan that would keep the user head-down (tilt > 0) longer than the device's cap allows,
 * counting the way back to horizontal as the session's return runs it: traction eased off first, then
 * the descent, at the speed and rate of sessionReturnProfile (the session's own cap, the device's and
 * the effective limits, whichever is slowest). Head-down time is summed over the whole program (never
 * reset), which can only overestimate what the firmware counts.
 */
export function checkInvertedTime(
  plan: { segments: readonly PlanSegment[] },
  caps: InvertedTimeCaps,
  lim?: Pick<EffectiveLimits, "speedMax" | "rateMax">,
  margin = INVERTED_TIME_MARGIN,
  /** The speed and rate the session's own return runs at (session/machine.ts returnRates); a slower one counts. */
  session?: { returnSpeed?: number; returnRate?: number },
): CheckResult {
  const cap = caps.maxInvertedS;
  if (cap === undefined || !caps.axes.tilt) return { ok: true };
  // The device's advertised return speed is only an upper bound: the session returns no faster than its
  // own return speed nor the limits, so estimating with the device's figure alone would accept programs
  // that keep the user head-down past the cap. Taking the session's profile keeps one source for both.
  const ret = sessionReturnProfile(caps.axes, lim);
  const descentSpeed = Math.min(ret.returnSpeed, session?.returnSpeed ?? Infinity);
  const releaseRate = Math.min(ret.returnRate, session?.returnRate ?? Infinity);
  const budget = cap * margin;
  let headDown = 0;
  for (const seg of plan.segments) {
    headDown += seg.headDownS;
    const wayBack = seg.tilt1 > 0 ? (seg.force1 > 0 ? seg.force1 / releaseRate : 0) + seg.tilt1 / descentSpeed : 0;
    const asked = headDown + wayBack;
    if (asked > budget + EPS) {
      const name = `step ${seg.step}${seg.stepType ? ` (${seg.stepType})` : ""}`;
      // Rounded apart, so a refusal never shows the plan asking for exactly what it may use.
      return {
        ok: false, step: seg.step, stepType: seg.stepType, field: "maxInvertedS", limit: Math.floor(budget), asked: Math.ceil(asked), source: "device",
        message: `${name} keeps the user head-down for ${Math.ceil(asked)} s with the way back to horizontal, but the device allows ${cap} s ` +
          `(a plan may use ${Math.round(margin * 100)}% of it: ${Math.floor(budget)} s)`,
      };
    }
  }
  return { ok: true };
}

export function checkProgram(p: Program, lim: EffectiveLimits): CheckResult {
  return checkActions(compileProgram(p), lim);
}

export interface ClampChange {
  field: "target" | "speed" | "rate";
  from: number;
  to: number;
  limit: LimitField;
  source: LimitSource;
}
type Kinded<K extends string> = { kind: K } | { type: K };
export type MoveLike = Kinded<"move"> & { target: number; speed: number };
export type ForceLike = Kinded<"force"> & { target: number; rate: number };

function kindOf(cmd: MoveLike | ForceLike): "move" | "force" {
  return "kind" in cmd ? cmd.kind : cmd.type;
}

function finite(v: number, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new LimitsError(`refusing to send ${what} ${String(v)}: not a finite number`);
  return v;
}

/**
 * Last line of defence before a move/force goes on the wire (an Action or a wire message): returns a copy
 * whose target and speed/rate are within the effective limits, and what was changed (to record as an
 * event: a clamp means a bug upstream). Throws LimitsError when no safe command exists (missing axis,
 * non-finite or non-positive values, empty range): the caller must then stop and return.
 */
export function clampToLimits<T extends MoveLike | ForceLike>(cmd: T, lim: EffectiveLimits): { cmd: T; changed: ClampChange[] } {
  const changed: ClampChange[] = [];
  const clamp = (field: ClampChange["field"], v: number, lo: number | undefined, hi: number, loF: LimitField | undefined, hiF: LimitField): number => {
    if (v > hi) {
      changed.push({ field, from: v, to: hi, limit: hiF, source: lim.source[hiF] });
      return hi;
    }
    if (lo !== undefined && loF && v < lo) {
      changed.push({ field, from: v, to: lo, limit: loF, source: lim.source[loF] });
      return lo;
    }
    return v;
  };
  if (kindOf(cmd) === "move") {
    const m = cmd as MoveLike;
    if (!lim.axes.tilt) throw new LimitsError("refusing to move: the device has no tilt axis");
    if (lim.tiltMin > lim.tiltMax) throw new LimitsError(`refusing to move: tiltMin ${lim.tiltMin} is above tiltMax ${lim.tiltMax}`);
    const speed = finite(m.speed, "move speed");
    if (speed <= 0) throw new LimitsError(`refusing to send move speed ${speed}: must be > 0`);
    const target = clamp("target", finite(m.target, "move target"), lim.tiltMin, lim.tiltMax, "tiltMin", "tiltMax");
    return { cmd: { ...cmd, target, speed: clamp("speed", speed, undefined, lim.speedMax, undefined, "speedMax") }, changed };
  }
  const f = cmd as ForceLike;
  if (!lim.axes.traction) throw new LimitsError("refusing to pull: the device has no traction axis");
  const rate = finite(f.rate, "force rate");
  if (rate <= 0) throw new LimitsError(`refusing to send force rate ${rate}: must be > 0`);
  const target = Math.max(0, clamp("target", finite(f.target, "force target"), undefined, lim.forceMax, undefined, "forceMax"));
  return { cmd: { ...cmd, target, rate: clamp("rate", rate, undefined, lim.rateMax, undefined, "rateMax") }, changed };
}
