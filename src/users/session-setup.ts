// What `invert run --profile NAME` does before and around a session: screening, the ramp-up step (or
// its cap on an explicit program), the profile's soft limits, and recording.
import type { CapsMsg, Clock } from "../../protocol/index.js";
import type { LimitSet } from "../limits/limit-set.js";
import { parseDeviceUri, redactDeviceUri } from "../link/device-uri.js";
import { axesUsed, compileProgram } from "../programs/compile.js";
import { DEFAULT_DEVICE_AXES } from "../limits/device-defaults.js";
import { planProgram, planReturnAfter, sessionReturnProfile, type Plan, type ReturnAxes, type ReturnProfile } from "../programs/plan.js";
import type { Program } from "../programs/schema.js";
import { attachRecorder, openStore, storeFailure, type NewSession, type ProfileRecord, type RecordableSession, type Recorder, type Store } from "../store/index.js";
import { UserError } from "./errors.js";
import { checkRated, type RatedLimits } from "./profiles.js";
import { DEFAULT_RAMPUP, checkProgramAngle, nextStep, type HistoryEntry, type RampupConfig } from "./rampup.js";
import { rampupProgram, type RampupStep } from "./rampup-program.js";
import { checkConditions, screeningStatus } from "./screening.js";

export interface PreparedSession {
  profile: ProfileRecord;
  program: Program;
  kind: "rampup" | "program";
  step: RampupStep;
  /** The profile's soft limits for effectiveLimits(): the ramp-up's allowed angle and the profile maximum. */
  profileLimits: LimitSet;
  /** One line for the user: what runs and why. */
  explanation: string;
  meta: NewSession;
}

export function profileHistory(store: Store, profileId: number): HistoryEntry[] {
  return store.sessions.list({ profileId }).map((s) => ({
    startedAt: s.startedAt,
    kind: s.kind,
    outcome: s.outcome,
    discomfort: s.discomfort,
    targetAngle: s.targetAngle,
    seq: s.id,
  }));
}

/** Highest head-down angle a program commands. */
export function programMaxAngle(p: Program): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const a of compileProgram(p)) if (a.kind === "move") max = Math.max(max, a.target);
  return max;
}

/**
 * Decides what a profile may run now; throws UserError (one line) when it may not: unknown profile,
 * missing or expired screening, a condition that rules the program out, too many sessions today, or a
 * program above the ramp-up's allowed angle.
 */
export function prepareProfileSession(
  store: Store,
  profileName: string,
  program: Program | undefined,
  now: Date,
  opts: { rated?: RatedLimits; config?: RampupConfig; device?: string } = {},
): PreparedSession {
  const profile = store.profiles.get(profileName);
  const screening = screeningStatus(profile.name, store.profiles.latestScreening(profile.id), now);
  if (!screening.ok) throw new UserError(screening.message);
  checkRated(profile, opts.rated);

  const step = nextStep(profile, profileHistory(store, profile.id), now, opts.config ?? DEFAULT_RAMPUP);
  if (!step.ok) throw new UserError(`profile "${profile.name}": ${step.reason}`);

  const kind = program ? "program" : "rampup";
  const prog = program ?? rampupProgram(step, opts.config ?? DEFAULT_RAMPUP);
  const needs = axesUsed(compileProgram(prog));
  const cond = checkConditions(profile.name, screening.conditions, { headDown: needs.headDown, traction: needs.traction });
  if (!cond.ok) throw new UserError(cond.message);

  if (program && needs.tilt) {
    const capped = checkProgramAngle(programMaxAngle(program), step, profile.name);
    if (!capped.ok) throw new UserError(capped.message);
  }
  const tiltMax = kind === "rampup" ? step.angle : step.allowedMaxAngle;
  return {
    profile,
    program: prog,
    kind,
    step,
    profileLimits: { tiltMax },
    explanation:
      kind === "rampup"
        ? step.reason
        : `program ${prog.name} for profile ${profile.name} (ramp-up allows up to ${step.allowedMaxAngle}° now)`,
    meta: {
      profileId: profile.id,
      profileName: profile.name,
      kind,
      programName: prog.name,
      program: prog,
      targetAngle: kind === "rampup" ? step.angle : undefined,
      minutes: kind === "rampup" ? step.minutes : undefined,
      device: opts.device === undefined ? undefined : safeDeviceText(opts.device),
      startedAt: now.toISOString(),
    },
  };
}

/** The device as stored in history: never with a password in it. */
function safeDeviceText(device: string): string {
  try {
    return redactDeviceUri(parseDeviceUri(device));
  } catch {
    return device.replace(/(\/\/[^:@/]*:)[^@]*@/, "$1***@");
  }
}

/** The estimated slow return after the program, as corner points (its phases are straight lines). */
export function returnPoints(plan: Plan, profile: ReturnProfile): { t: number; tilt: number; force: number }[] {
  const ret = planReturnAfter(plan, profile);
  const out: { t: number; tilt: number; force: number }[] = [];
  let t = plan.totalS;
  for (const ph of ret.phases) {
    t += ph.seconds;
    // Traction is released first; afterwards force stays at zero.
    out.push({ t, tilt: ph.toTilt, force: 0 });
  }
  return out;
}

/** Sample spacing of the stored planned trajectory, s. */
export const PLANNED_STEP_S = 0.5;

/**
 * Angle of the stored plan on a device without a tilt axis (a back stretcher): nothing moves the user,
 * and 0 is the angle such a device's telemetry and effective limits carry, so the planned line lies on
 * the measured one instead of drawing a table that is not there.
 */
const NO_TILT_AXIS_ANGLE = 0;

/** The planned trajectory stored with the session; undefined when the planner cannot follow the program. */
export function plannedTrajectory(
  prepared: Pick<PreparedSession, "program"> & Partial<Pick<PreparedSession, "profileLimits">>,
  opts: { startTilt?: number; accel?: number; axes?: ReturnAxes } = {},
): unknown {
  // The design default until the device's caps are known.
  const axes = opts.axes ?? DEFAULT_DEVICE_AXES;
  try {
    const startTilt = axes.tilt ? (opts.startTilt ?? -80) : NO_TILT_AXIS_ANGLE;
    const plan = planProgram(prepared.program, { startTilt, accel: opts.accel ?? 10 });
    const points = plan.samples(PLANNED_STEP_S).map((p) => ({ t: p.t, tilt: p.tilt, force: p.force }));
    // The return as the session will run it: on this device and within every limit the session sends,
    // the ramp-up's gentle speed included. Without a tilt axis it only releases traction: an upright
    // left at the table's default would send the planned angle down to -80.
    const profile = { ...sessionReturnProfile(axes, prepared.program.limits, prepared.profileLimits), ...(axes.tilt ? {} : { upright: NO_TILT_AXIS_ANGLE }) };
    return { stepS: PLANNED_STEP_S, totalS: plan.totalS, returnFromS: plan.totalS, points: [...points, ...returnPoints(plan, profile)] };
  } catch {
    // A program the planner cannot follow is refused by the session itself; the record just lacks the plan.
    return undefined;
  }
}

/**
 * Records the session: the planned trajectory (from the device's start tilt and acceleration), then
 * everything the session produces. Never throws: a storage failure is reported once via onError.
 */
export function recordProfileSession(
  store: Store,
  handle: RecordableSession,
  prepared: Pick<PreparedSession, "program" | "meta"> & Partial<Pick<PreparedSession, "profileLimits">>,
  opts: { clock: Clock; onError?: (line: string) => void; startTilt?: number; accel?: number; axes?: ReturnAxes; limits?: unknown },
): Recorder {
  const planned = plannedTrajectory(prepared, opts);
  return attachRecorder(store, handle, { ...prepared.meta, planned, limits: opts.limits }, { clock: opts.clock, onError: opts.onError });
}

function deviceKinematics(axes: CapsMsg["axes"]): { startTilt?: number; accel?: number; axes: ReturnAxes } {
  return { startTilt: axes.tilt?.upright, accel: axes.tilt?.accelMax, axes };
}

/** Everything `invert run --profile` needs from this module, opened once per run. */
export interface ProfileSession {
  readonly prepared: PreparedSession;
  readonly program: Program;
  readonly profileLimits: LimitSet;
  readonly explanation: string;
  /**
   * Refuses the profile on a device rated below the user's weight or height (call once caps are known).
   * With the device's axes it also stores the plan for this device in place of the one assumed at record().
   */
  checkDevice(caps: Pick<CapsMsg, "userMaxKg" | "userMaxCm"> & Partial<Pick<CapsMsg, "axes">>): void;
  /** Starts recording; never throws (storage problems are reported once through onError). */
  record(handle: RecordableSession, opts: { clock: Clock; onError?: (line: string) => void; caps?: CapsMsg }): Recorder;
  /** Waits for the record to be complete and closes the store. */
  close(): Promise<void>;
}

/**
 * Opens the store (INVERT_HOME or the platform data directory) and prepares the profile's session.
 * Throws a UserError or StoreError with one line when the profile may not run it.
 */
export function openProfileSession(
  profileName: string,
  program: Program | undefined,
  opts: { now?: Date; device?: string; store?: Store; config?: RampupConfig } = {},
): ProfileSession {
  const store = opts.store ?? openStore();
  let prepared: PreparedSession;
  try {
    prepared = prepareProfileSession(store, profileName, program, opts.now ?? new Date(), { device: opts.device, config: opts.config });
  } catch (err) {
    if (!opts.store) store.close();
    // Reading the profile and its history can meet a damaged file: one line naming it, not a bug.
    throw storeFailure(err, store.file);
  }
  let recorder: Recorder | undefined;
  return {
    prepared,
    program: prepared.program,
    profileLimits: prepared.profileLimits,
    explanation: prepared.explanation,
    checkDevice(caps) {
      checkRated(prepared.profile, { userMaxKg: caps.userMaxKg, userMaxCm: caps.userMaxCm });
      // The run starts recording before the device has said what it is; the plan stored then assumed
      // the default table, which on a stretcher draws a table angle that never existed.
      const id = recorder?.sessionId;
      if (caps.axes && id !== undefined && !recorder?.failed) {
        try {
          store.sessions.setPlan(id, undefined, plannedTrajectory(prepared, deviceKinematics(caps.axes)));
        } catch {
          // Only the drawn plan is at stake; the recorder reports a failing store on its own.
        }
      }
    },
    record(handle, o) {
      recorder = recordProfileSession(store, handle, prepared, {
        clock: o.clock,
        onError: o.onError,
        ...(o.caps ? deviceKinematics(o.caps.axes) : {}),
      });
      return recorder;
    },
    async close() {
      if (recorder) await recorder.finished;
      if (!opts.store) store.close();
    },
  };
}
