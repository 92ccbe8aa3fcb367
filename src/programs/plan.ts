// The planned trajectory of a program, computed without running it: shown before a session starts
// (total time, extremes) and compared with telemetry afterwards. Moves follow the same smooth profile
// the device runs: accelerate at `accel`, cruise at the commanded speed, decelerate to rest at the target
// (a triangle when the move is too short to reach the speed); forces ramp linearly at their rate.
// Actions run one after another, each from where the previous one ended, as the session executes them.
import { compileProgram, type Action, type Cycle } from "./compile.js";
import type { Program, StepType } from "./schema.js";

export interface Kinematics {
  /** Tilt when the program starts (a session normally starts upright, about -80). */
  startTilt: number;
  /** Tilt acceleration, deg/s^2 (the device's accelMax). */
  accel: number;
  /** Force when the program starts (default 0). */
  startForce?: number;
  /** Kept for the agreed signature: every force action carries its own rate, so this is not needed. */
  forceRateDefault?: number;
}

export interface PlanSegment {
  /** Index into plan.actions. */
  action: number;
  step: number;
  stepType?: StepType;
  kind: Action["kind"];
  label: string;
  cycle?: Cycle;
  t0: number;
  t1: number;
  tilt0: number;
  tilt1: number;
  force0: number;
  force1: number;
  /** Peak tilt speed reached in this segment (deg/s, >= 0); below the commanded speed for short moves. */
  vPeak: number;
  /** Seconds of this segment spent head-down (tilt > 0): what the firmware's time-inverted cap counts. */
  headDownS: number;
}

export interface PlanPoint {
  t: number;
  tilt: number;
  /** Signed tilt velocity, deg/s. */
  vel: number;
  force: number;
  /** Program step (1-based) running at t; 0 before the first action. */
  step: number;
}

export interface PlanStepSummary {
  step: number;
  type: StepType;
  startS: number;
  durationS: number;
  label: string;
  /** Highest tilt and force reached by the end of the step. */
  maxTilt: number;
  maxForce: number;
  maxSpeed: number;
}

export interface Plan {
  actions: Action[];
  segments: PlanSegment[];
  steps: PlanStepSummary[];
  totalS: number;
  /** Extremes over the whole trajectory, the start position included. */
  maxAngle: number;
  minAngle: number;
  maxSpeed: number;
  maxForce: number;
  /** Total seconds head-down (tilt > 0), the return excluded. */
  headDownS: number;
  samples(stepS: number): PlanPoint[];
  at(t: number): PlanPoint;
}

/** Time and peak speed of a rest-to-rest move of `dist` at cruise `speed` and acceleration `accel`. */
export function moveProfile(dist: number, speed: number, accel: number): { duration: number; vPeak: number } {
  const d = Math.abs(dist);
  if (d === 0) return { duration: 0, vPeak: 0 };
  if (d >= (speed * speed) / accel) return { duration: d / speed + speed / accel, vPeak: speed };
  const vPeak = Math.sqrt(d * accel);
  return { duration: (2 * vPeak) / accel, vPeak };
}

/** Position offset and speed, from the move's start, `tau` seconds into a move. */
function moveAt(seg: PlanSegment, accel: number, tau: number): { x: number; v: number } {
  const d = Math.abs(seg.tilt1 - seg.tilt0);
  const T = seg.t1 - seg.t0;
  const ta = seg.vPeak / accel;
  if (tau <= 0) return { x: 0, v: 0 };
  if (tau >= T) return { x: d, v: 0 };
  if (tau < ta) return { x: 0.5 * accel * tau * tau, v: accel * tau };
  if (tau <= T - ta) return { x: 0.5 * accel * ta * ta + seg.vPeak * (tau - ta), v: seg.vPeak };
  const r = T - tau;
  return { x: d - 0.5 * accel * r * r, v: accel * r };
}

/** Time with tilt > 0 within a segment; a move crossing horizontal is split where it crosses. */
function headDownTime(seg: PlanSegment, accel: number): number {
  const T = seg.t1 - seg.t0;
  if (seg.tilt0 > 0 && seg.tilt1 > 0) return T;
  if (seg.tilt0 <= 0 && seg.tilt1 <= 0) return 0;
  // Position is monotone along a move: bisect for the instant it passes 0.
  const cross = Math.abs(seg.tilt0);
  let lo = 0;
  let hi = T;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (moveAt(seg, accel, mid).x < cross) lo = mid;
    else hi = mid;
  }
  return seg.tilt1 > 0 ? T - hi : hi;
}

function checkKinematics(kin: Kinematics): void {
  if (!Number.isFinite(kin.accel) || kin.accel <= 0) throw new RangeError(`plan: accel must be a positive number (got ${kin.accel})`);
  if (!Number.isFinite(kin.startTilt)) throw new RangeError(`plan: startTilt must be a number (got ${kin.startTilt})`);
  if (kin.startForce !== undefined && !(Number.isFinite(kin.startForce) && kin.startForce >= 0)) {
    throw new RangeError(`plan: startForce must be a number >= 0 (got ${kin.startForce})`);
  }
}

/** At most this many samples: a plot needs far fewer, and a typo in stepS must not exhaust memory. */
export const MAX_SAMPLES = 1_000_000;

/** How many points samples(stepS) returns over totalS seconds: every stepS from 0, and the end. */
export function sampleCount(totalS: number, stepS: number): number {
  const n = Math.floor(totalS / stepS);
  return n + 1 + (n * stepS < totalS ? 1 : 0);
}

export function planActions(actions: Action[], kin: Kinematics, stepTypes: readonly StepType[] = []): Plan {
  checkKinematics(kin);
  const startForce = kin.startForce ?? 0;
  const segments: PlanSegment[] = [];
  let t = 0;
  let tilt = kin.startTilt;
  let force = startForce;
  actions.forEach((a, i) => {
    let duration = 0;
    let vPeak = 0;
    let tilt1 = tilt;
    let force1 = force;
    if (a.kind === "move") {
      ({ duration, vPeak } = moveProfile(a.target - tilt, a.speed, kin.accel));
      tilt1 = a.target;
    } else if (a.kind === "force") {
      duration = Math.abs(a.target - force) / a.rate;
      force1 = a.target;
    } else {
      duration = a.seconds;
    }
    const stepType = a.stepType ?? stepTypes[a.step - 1];
    const seg: PlanSegment = {
      action: i, step: a.step, kind: a.kind, label: a.label, t0: t, t1: t + duration, tilt0: tilt, tilt1, force0: force, force1, vPeak, headDownS: 0,
      ...(stepType ? { stepType } : {}), ...(a.cycle ? { cycle: a.cycle } : {}),
    };
    seg.headDownS = headDownTime(seg, kin.accel);
    segments.push(seg);
    t += duration;
    tilt = tilt1;
    force = force1;
  });
  const totalS = t;
  // Extremes by a loop, not Math.max(...array): a spread passes every element as an argument, and a long
  // program has more segments than the call stack can take.
  let maxAngle = kin.startTilt;
  let minAngle = kin.startTilt;
  let maxSpeed = 0;
  let maxForce = startForce;
  for (const s of segments) {
    if (s.tilt1 > maxAngle) maxAngle = s.tilt1;
    if (s.tilt1 < minAngle) minAngle = s.tilt1;
    if (s.vPeak > maxSpeed) maxSpeed = s.vPeak;
    if (s.force1 > maxForce) maxForce = s.force1;
  }

  const at = (time: number): PlanPoint => {
    const tc = Math.min(Math.max(Number.isFinite(time) ? time : 0, 0), totalS);
    // Last segment starting at or before tc (binary search: plans of long programs have many segments).
    let lo = 0;
    let hi = segments.length - 1;
    let idx = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((segments[mid] as PlanSegment).t0 <= tc) {
        idx = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Zero-length segments (e.g. a force already at its target) sit at one instant: prefer the one that has time.
    while (idx > 0 && (segments[idx] as PlanSegment).t1 === (segments[idx] as PlanSegment).t0 && (segments[idx - 1] as PlanSegment).t1 >= tc) idx--;
    const seg = segments[idx];
    if (!seg) return { t: tc, tilt: kin.startTilt, vel: 0, force: startForce, step: 0 };
    const tau = tc - seg.t0;
    if (seg.kind === "move") {
      const { x, v } = moveAt(seg, kin.accel, tau);
      const dir = Math.sign(seg.tilt1 - seg.tilt0);
      const tiltNow = tau >= seg.t1 - seg.t0 ? seg.tilt1 : seg.tilt0 + dir * x;
      // `|| 0` keeps -0 out of results (a stopped axis has no direction).
      return { t: tc, tilt: tiltNow, vel: dir * v || 0, force: seg.force0, step: seg.step };
    }
    if (seg.kind === "force") {
      const T = seg.t1 - seg.t0;
      const f = T <= 0 || tau >= T ? seg.force1 : seg.force0 + ((seg.force1 - seg.force0) * tau) / T;
      return { t: tc, tilt: seg.tilt0, vel: 0, force: f, step: seg.step };
    }
    return { t: tc, tilt: seg.tilt0, vel: 0, force: seg.force0, step: seg.step };
  };

  const samples = (stepS: number): PlanPoint[] => {
    if (!(Number.isFinite(stepS) && stepS > 0)) throw new RangeError(`plan samples: step must be a positive number of seconds (got ${stepS})`);
    const n = Math.floor(totalS / stepS);
    const count = sampleCount(totalS, stepS);
    if (count > MAX_SAMPLES) throw new RangeError(`plan samples: ${count} samples is too many (step ${stepS} s over ${totalS.toFixed(0)} s)`);
    const out: PlanPoint[] = [];
    for (let i = 0; i <= n; i++) out.push(at(i * stepS));
    if (n * stepS < totalS) out.push(at(totalS));
    return out;
  };

  return {
    actions, segments, steps: summarizeSteps(segments, stepTypes), totalS,
    maxAngle, minAngle, maxSpeed, maxForce,
    headDownS: segments.reduce((sum, s) => sum + s.headDownS, 0),
    samples, at,
  };
}

function summarizeSteps(segments: PlanSegment[], stepTypes: readonly StepType[]): PlanStepSummary[] {
  const out: PlanStepSummary[] = [];
  for (const s of segments) {
    let cur = out.at(-1);
    if (!cur || cur.step !== s.step) {
      const type = s.stepType ?? stepTypes[s.step - 1];
      if (!type) continue;
      cur = { step: s.step, type, startS: s.t0, durationS: 0, label: s.label.split(": ")[0] ?? s.label, maxTilt: s.tilt0, maxForce: s.force0, maxSpeed: 0 };
      out.push(cur);
    }
    cur.durationS = s.t1 - cur.startS;
    cur.maxTilt = Math.max(cur.maxTilt, s.tilt1);
    cur.maxForce = Math.max(cur.maxForce, s.force1);
    cur.maxSpeed = Math.max(cur.maxSpeed, s.vPeak);
  }
  return out;
}

export function planProgram(p: Program, kin: Kinematics): Plan {
  return planActions(compileProgram(p), kin, p.steps.map((s) => s.type));
}

/**
 * The slow return the session runs (src/session/machine.ts, `returning`), as configured. The defaults
 * below are the session's too (its DEFAULT_RETURN is made from them): a completed or stopped program
 * comes back by the session's return, not the firmware's, which only takes over on a fault or a lost link.
 */
export interface ReturnProfile {
  returnSpeed: number;
  /** Slower speed over the last `approachZone` degrees before upright. */
  approachSpeed: number;
  approachZone: number;
  upright: number;
  /** Rest near horizontal, only when the user has been head-down during the session. */
  restS: number;
  pauseTilt: number;
  /** Pause on the way up, only when the user has been head-down during the session. */
  pauseS: number;
  /** Traction release rate, N/s. */
  returnRate: number;
}

export const DEFAULT_RETURN_PROFILE: Readonly<ReturnProfile> = Object.freeze({
  returnSpeed: 4, approachSpeed: 1, approachZone: 10, upright: -80, restS: 60, pauseTilt: -15, pauseS: 10, returnRate: 20,
});

/** Above this tilt the user counts as having been head-down (the session decides its rest and pause by it). */
export const HEAD_DOWN_DEG = 1;

/** The parts of a device's advertised axes (`caps.axes`) that bound the session's return. */
export interface ReturnAxes {
  tilt?: { upright: number; speedMax: number; returnSpeed: number };
  traction?: { rateMax: number; returnRate?: number };
}

/** Limits that also bind the return (a program's, a profile's): the session sends it within them. */
export interface ReturnLimits {
  speedMax?: number;
  rateMax?: number;
}

/**
 * The return the session will run on a device with these axes under these limits, with its default
 * settings: it takes the slowest of its own speed, the device's and the limits', and never approaches
 * upright faster than 1 deg/s or than its return speed.
 */
export function sessionReturnProfile(axes: ReturnAxes | undefined, ...limits: (ReturnLimits | undefined)[]): ReturnProfile {
  const d = DEFAULT_RETURN_PROFILE;
  const tilt = axes?.tilt;
  const traction = axes?.traction;
  const speedCap = Math.min(tilt?.speedMax ?? Infinity, ...limits.map((l) => l?.speedMax ?? Infinity));
  const rateCap = Math.min(traction?.rateMax ?? Infinity, ...limits.map((l) => l?.rateMax ?? Infinity));
  const returnSpeed = Math.min(d.returnSpeed, tilt?.returnSpeed ?? d.returnSpeed, speedCap);
  return {
    ...d,
    upright: tilt?.upright ?? d.upright,
    returnSpeed,
    approachSpeed: Math.min(d.approachSpeed, 1, returnSpeed),
    returnRate: Math.min(d.returnRate, traction?.returnRate ?? d.returnRate, rateCap),
  };
}

export interface ReturnPhase {
  label: string;
  seconds: number;
  fromTilt: number;
  toTilt: number;
}

export interface ReturnPlan {
  totalS: number;
  phases: ReturnPhase[];
}

/**
 * Estimate of the slow return from a position (constant speeds, acceleration ignored: a few tenths of a
 * second per phase): traction released, down to horizontal when head-down, then, when the user has
 * been head-down at any time in the session (`wasHeadDown`), a rest where the descent ended and a pause
 * at the pause angle; then up to upright, slower over the last degrees. The session decides the rest
 * and the pause by that history, not by where the return starts: a pump ending at horizontal, or a
 * program that comes back feet-down after being head-down, still gets both; a program that never went
 * head-down gets neither. Without `wasHeadDown` only the start position can tell.
 */
export function planReturn(fromTilt: number, profile: Partial<ReturnProfile> = {}, fromForce = 0, wasHeadDown = fromTilt > HEAD_DOWN_DEG): ReturnPlan {
  const r = { ...DEFAULT_RETURN_PROFILE, ...profile };
  const phases: ReturnPhase[] = [];
  const go = (label: string, from: number, to: number, speed: number) => {
    if (from > to) phases.push({ label, seconds: (from - to) / speed, fromTilt: from, toTilt: to });
    return Math.min(from, to);
  };
  if (fromForce > 0) phases.push({ label: "release traction", seconds: fromForce / r.returnRate, fromTilt, toTilt: fromTilt });
  let tilt = go("down to horizontal", fromTilt, 0, r.returnSpeed);
  if (wasHeadDown && r.restS > 0) {
    phases.push({ label: tilt === 0 ? "rest at horizontal" : `rest at ${Math.round(tilt * 10) / 10}°`, seconds: r.restS, fromTilt: tilt, toTilt: tilt });
  }
  if (wasHeadDown && r.pauseS > 0 && tilt > r.pauseTilt) {
    tilt = go(`down to ${r.pauseTilt}°`, tilt, r.pauseTilt, r.returnSpeed);
    phases.push({ label: `pause at ${r.pauseTilt}°`, seconds: r.pauseS, fromTilt: tilt, toTilt: tilt });
  }
  const approachFrom = r.upright + r.approachZone;
  tilt = go("toward upright", tilt, approachFrom, r.returnSpeed);
  go("slow final rise", tilt, r.upright, Math.min(r.approachSpeed, r.returnSpeed));
  return { totalS: phases.reduce((s, p) => s + p.seconds, 0), phases };
}

/** The slow return after a planned program: from where it leaves the table, head-down if it ever went there. */
export function planReturnAfter(plan: Plan, profile: Partial<ReturnProfile> = {}): ReturnPlan {
  const end = plan.at(plan.totalS);
  return planReturn(end.tilt, profile, end.force, plan.maxAngle > HEAD_DOWN_DEG);
}
