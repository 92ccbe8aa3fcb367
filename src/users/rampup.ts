// Beginner ramp-up (DOMAIN.md section 2): pure rules over a profile's session history and `now`.
//
// - The first session is at startAngle; the angle steps up by stepDeg after a ramp-up session that
//   completed without discomfort, and stays put after one that did not complete.
// - During the first earlyDays (from the first session) the angle never exceeds earlyMaxAngle and
//   sessions last earlyMinutes; later up to the profile maximum, sessions of laterMinutes. Duration
//   starts at the low end of the range and grows a minute per comfortable session.
// - A discomfort report in any session sends the angle back discomfortStepsBack steps (never below minAngle).
// - At most maxPerDay sessions in any rolling 24 h (a rolling window is independent of time zones);
//   a refusal names the time of the next allowed session. A session dated after now counts as run now
//   (placedInTime says why).
// - Explicit programs are capped at the current step's angle, unless the profile maximum was raised
//   deliberately (rampupBypass), in which case the profile maximum caps them.

export interface RampupConfig {
  startAngle: number;
  stepDeg: number;
  minAngle: number;
  earlyDays: number;
  earlyMaxAngle: number;
  earlyMinutes: readonly [number, number];
  laterMinutes: readonly [number, number];
  discomfortStepsBack: number;
  maxPerDay: number;
  /** Speed of the ramp-up program's ramp, deg/s. */
  rampSpeed: number;
}

export const DEFAULT_RAMPUP: RampupConfig = {
  startAngle: 20,
  stepDeg: 5,
  minAngle: 10,
  earlyDays: 14,
  earlyMaxAngle: 30,
  earlyMinutes: [1, 2],
  laterMinutes: [3, 5],
  discomfortStepsBack: 2,
  maxPerDay: 3,
  rampSpeed: 2,
};

export const DEFAULT_MAX_ANGLE = 60;

export interface HistoryEntry {
  startedAt: string | Date;
  kind: "rampup" | "program";
  outcome: "completed" | "aborted" | "fault" | "refused" | null;
  discomfort: boolean;
  /** The ramp-up angle the session aimed for (ramp-up sessions). */
  targetAngle?: number | null;
  /**
   * Position in the order the sessions ran (the store's row id). Dates come from a wall clock that can
   * be set back (an RTC reset before NTP, a manual correction), so only this says which session came last.
   */
  seq?: number;
}

export interface RampupProfile {
  maxAngle: number;
  rampupBypass?: boolean;
}

export type NextStep =
  | {
      ok: true;
      angle: number;
      minutes: number;
      /** The highest angle an explicit program may reach now. */
      allowedMaxAngle: number;
      phase: "early" | "later";
      /** 1-based number of the session this step would be. */
      sessionNumber: number;
      reason: string;
    }
  | { ok: false; nextAllowedAt: Date; reason: string };

const DAY_MS = 86_400_000;

const ms = (d: string | Date) => (typeof d === "string" ? Date.parse(d) : d.getTime());

/** In the order the sessions ran when that is known, else by date. */
function inRunOrder(h: readonly HistoryEntry[]): HistoryEntry[] {
  const bySeq = h.every((e) => typeof e.seq === "number");
  return [...h].sort((a, b) => (bySeq ? (a.seq ?? 0) - (b.seq ?? 0) : ms(a.startedAt) - ms(b.startedAt)));
}

/**
 * Sessions that count: a refused session never moved the user. One dated after `now` counts too: the
 * clock was set back since (an RTC reset, an NTP correction), and dropping it would forget a discomfort
 * and the day's sessions. It counts toward the daily limit; the progression reads sessions in the order
 * they ran, since after such a reset the latest date no longer marks the latest session.
 */
function counted(h: readonly HistoryEntry[]): HistoryEntry[] {
  return inRunOrder(h).filter((e) => e.outcome !== "refused");
}

/**
 * When each counted session (in run order) is taken to have run, for the daily limit. A session dated
 * after now cannot be placed in time: the clock was ahead when it ran (an RTC glitch) or is behind now
 * (set back), and the data cannot tell which. Taken at its date, a glitch a year ahead would refuse the
 * user for a year and name a date a year away. It is taken as run now, the latest it can have run: that
 * never undercounts, so a clock set back still cannot buy extra sessions, and the refusal names at most
 * 24 h from now. Once a session has run after it, it ran no later than that one, and leaves the window
 * 24 h after it instead of following now for as long as its date is ahead. Sessions dated ahead that
 * fill the quota by themselves keep refusing until then: ending that 24 h after the clock is right needs
 * the moment they were first seen, which the history does not hold.
 */
function placedInTime(runOrder: readonly HistoryEntry[], nowMs: number): number[] {
  const out = new Array<number>(runOrder.length);
  let bound = nowMs;
  for (let i = runOrder.length - 1; i >= 0; i--) {
    const t = ms((runOrder[i] as HistoryEntry).startedAt);
    const ahead = t > nowMs;
    out[i] = ahead ? bound : t;
    // A session dated in the past keeps its date, as before (a clock behind then is trusted as far as it
    // ever was); only an unplaceable one is moved, to where a later one shows it had run by.
    if (!ahead) bound = Math.min(bound, t);
  }
  return out;
}

export function nextStep(profile: RampupProfile, history: readonly HistoryEntry[], now: Date, cfg: RampupConfig = DEFAULT_RAMPUP): NextStep {
  const nowMs = now.getTime();
  const past = counted(history);

  const placed = placedInTime(past, nowMs);
  const recent = placed.filter((t) => t > nowMs - DAY_MS).sort((a, b) => a - b);
  if (recent.length >= cfg.maxPerDay) {
    const at = new Date((recent[recent.length - cfg.maxPerDay] as number) + DAY_MS);
    const ahead = past.filter((e) => ms(e.startedAt) > nowMs).length;
    return {
      ok: false,
      nextAllowedAt: at,
      reason:
        `${recent.length} sessions in the last 24 h (at most ${cfg.maxPerDay}); next session allowed at ${at.toISOString()}` +
        (ahead ? `; ${ahead} of them ${ahead === 1 ? "is" : "are"} dated after now (the clock was ahead then, or is behind now) and count${ahead === 1 ? "s" : ""} as if run now` : ""),
    };
  }

  // The first weeks run from the session that ran first: an earlier date on a later session is a clock
  // that was behind, and must not end a beginner's first weeks early.
  const firstMs = past.length ? ms(past[0].startedAt) : nowMs;
  const earlyEnd = firstMs + cfg.earlyDays * DAY_MS;
  const capAt = (t: number) => Math.min(profile.maxAngle, t < earlyEnd ? cfg.earlyMaxAngle : profile.maxAngle);

  let angle = cfg.startAngle;
  let why = past.length ? "" : "first session";
  let streak = 0;
  for (const e of past) {
    const t = ms(e.startedAt);
    const inPhaseOfNow = (t < earlyEnd) === (nowMs < earlyEnd);
    const base = e.kind === "rampup" && typeof e.targetAngle === "number" ? e.targetAngle : angle;
    if (e.discomfort) {
      angle = Math.max(cfg.minAngle, Math.min(base, capAt(t)) - cfg.discomfortStepsBack * cfg.stepDeg);
      why = `discomfort reported on ${new Date(t).toISOString().slice(0, 10)}: back ${cfg.discomfortStepsBack} steps`;
      streak = 0;
    } else if (e.kind === "rampup" && e.outcome === "completed") {
      angle = Math.min(base, capAt(t)) + cfg.stepDeg;
      why = `last ramp-up session completed without discomfort: +${cfg.stepDeg}°`;
      streak = inPhaseOfNow ? streak + 1 : 0;
    } else if (e.kind === "rampup") {
      why = `last ramp-up session did not complete: same angle again`;
    }
  }

  const early = nowMs < earlyEnd;
  const cap = capAt(nowMs);
  const final = Math.max(Math.min(angle, cap), Math.min(cfg.minAngle, cap));
  if (angle > cap) why += `; capped at ${cap}° (${early ? `first ${cfg.earlyDays} days` : "profile maximum"})`;
  const [lo, hi] = early ? cfg.earlyMinutes : cfg.laterMinutes;
  const minutes = Math.min(hi, lo + streak);
  const allowed = profile.rampupBypass ? profile.maxAngle : final;
  const day = Math.floor((nowMs - firstMs) / DAY_MS) + 1;
  return {
    ok: true,
    angle: final,
    minutes,
    allowedMaxAngle: allowed,
    phase: early ? "early" : "later",
    sessionNumber: past.length + 1,
    reason:
      `ramp-up session ${past.length + 1} (day ${day}${early ? ` of the first ${cfg.earlyDays}` : ""}): ${final}° for ${minutes} min; ${why}` +
      (profile.rampupBypass ? `; explicit programs allowed up to the profile maximum ${profile.maxAngle}°` : ""),
  };
}

/** Refuses an explicit program reaching above what the ramp-up allows now. */
export function checkProgramAngle(programMaxAngle: number, step: NextStep, profileName: string): { ok: true } | { ok: false; message: string } {
  if (!step.ok) return { ok: false, message: step.reason };
  if (programMaxAngle <= step.allowedMaxAngle + 1e-9) return { ok: true };
  return {
    ok: false,
    message:
      `program reaches ${round(programMaxAngle)}° but the ramp-up allows ${step.allowedMaxAngle}° for profile "${profileName}" now ` +
      `(run \`invert run --profile ${profileName}\` without a program for the next step, or raise the maximum deliberately with ` +
      `\`invert profile set ${profileName} --max-angle DEG --i-understand\`)`,
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
