// The companion's safety supervisor, PX4-failsafe style: a pure function of (now, what is observed,
// what it remembered last time) that names every active condition with the action it calls for; the
// most severe action wins. Some conditions act at once (a limit crossed), others only once they have
// lasted a short delay (a tracking error while a move starts), so one noisy sample never aborts a session.
// A hold for stale telemetry ends only once telemetry has been on time for a while, so a flaky link does
// not pause and resume motion with every sample that gets through.
// No clock, no I/O: tests give explicit timestamps.
import { faultSpec } from "../../protocol/index.js";
import type { TelemetryMsg } from "../../protocol/index.js";

export type SafetyAction = "none" | "warn" | "hold" | "return" | "return-reduced-speed" | "handed-to-firmware";

/** Severity order: the most severe active action wins. */
export const SAFETY_ACTIONS: readonly SafetyAction[] = ["none", "warn", "hold", "return", "return-reduced-speed", "handed-to-firmware"];

export function severity(a: SafetyAction): number {
  return SAFETY_ACTIONS.indexOf(a);
}

export function mostSevere(a: SafetyAction, b: SafetyAction): SafetyAction {
  return severity(a) >= severity(b) ? a : b;
}

export type CheckName =
  | "discomfort"
  | "link"
  | "stale"
  | "device-fault"
  | "device-returning"
  | "stop-switch"
  | "ankle-lock"
  | "tilt-limit"
  | "force-limit"
  | "overspeed"
  | "tracking"
  | "sensor-mismatch";

export interface Expectation {
  /** idle: nothing commanded; moving/returning: between `from` and `target`; holding: at `target`. */
  phase: "idle" | "moving" | "holding" | "returning";
  tiltFrom?: number;
  tiltTarget?: number;
}

export interface SupervisedLimits {
  tiltMin: number;
  tiltMax: number;
  speedMax: number;
  forceMax: number;
}

export type SupervisedLinkStatus = "idle" | "handshaking" | "up" | "lost" | "closed";

export interface Observed {
  expect: Expectation;
  limits: SupervisedLimits;
  /** The device's upright angle: the return goes there even when a soft tiltMin is higher. */
  upright: number;
  tlm: TelemetryMsg | undefined;
  tlmAt: number | undefined;
  tlmPeriodMs: number;
  link: SupervisedLinkStatus;
  discomfort: boolean;
}

/** Same observation: the same objects (telemetry, expectation, limits) and the same values otherwise. */
export function sameObservation(a: Observed, b: Observed): boolean {
  return (
    a.tlm === b.tlm &&
    a.tlmAt === b.tlmAt &&
    a.expect === b.expect &&
    a.limits === b.limits &&
    a.upright === b.upright &&
    a.tlmPeriodMs === b.tlmPeriodMs &&
    a.link === b.link &&
    a.discomfort === b.discomfort
  );
}

export interface Thresholds {
  trackingTolDeg: number;
  trackingHoldMs: number;
  trackingReturnMs: number;
  speedMarginFrac: number;
  speedMarginAbs: number;
  overspeedMs: number;
  limitMarginDeg: number;
  forceMarginN: number;
  mismatchDeg: number;
  mismatchMs: number;
  /** Telemetry older than this many periods: warn; older than staleHoldPeriods: hold. */
  staleWarnPeriods: number;
  staleHoldPeriods: number;
  /**
   * A stale hold is lifted only once telemetry has stayed on time (never older than staleWarnPeriods)
   * for this many periods: one sample getting through a flaky link must not restart motion that the
   * next gap stops again.
   */
  staleClearPeriods: number;
  /**
   * The staleRepeatHolds-th stale hold to begin within staleRepeatWindowMs returns the user instead:
   * a link that keeps failing is not one to keep someone head-down on, waiting for it.
   */
  staleRepeatHolds: number;
  staleRepeatWindowMs: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  trackingTolDeg: 3,
  trackingHoldMs: 500,
  trackingReturnMs: 2000,
  speedMarginFrac: 0.1,
  speedMarginAbs: 0.5,
  overspeedMs: 200,
  limitMarginDeg: 1,
  forceMarginN: 5,
  mismatchDeg: 5,
  mismatchMs: 200,
  staleWarnPeriods: 2.5,
  staleHoldPeriods: 5,
  staleClearPeriods: 10,
  staleRepeatHolds: 3,
  staleRepeatWindowMs: 60_000,
};

export interface Finding {
  check: CheckName;
  action: SafetyAction;
  message: string;
}

interface MemoryFields extends Partial<Record<CheckName, number>> {
  /** Device time (`tlm.t`) of the last sample judged. */
  tlmT?: number;
  /** When a sample with that device time first arrived: the data is as old as that. */
  tlmTAt?: number;
  /** Onset of the stale hold in force; it outlasts the staleness until telemetry is back for long enough. */
  staleHold?: number;
  /** While a stale hold is being lifted: when the unbroken run of on-time telemetry began. */
  freshSince?: number;
  /** Onsets of the recent stale holds, oldest first; kept across lifts to notice a link that keeps failing. */
  staleHolds?: readonly number[];
}

/** Onset time of each condition that is currently present (for delays), and how new the data is. */
export type SupervisorMemory = Readonly<MemoryFields>;

export interface SafetyDecision {
  action: SafetyAction;
  findings: Finding[];
  memory: SupervisorMemory;
  /**
   * Until this time the same observation gives this same decision (findings and memory included): the
   * next delay to run out, the telemetry turning stale or a stale hold being lifted; Infinity when only
   * a new observation can change it. A periodic caller may skip its check before then when nothing
   * observed has changed.
   */
  recheckAt: number;
}

/**
 * One call's working state. The helpers are methods, not closures made per call: the supervisor runs on
 * every telemetry sample of every device a bridge serves, and a closure per check per sample adds up.
 */
class Judgement {
  readonly findings: Finding[] = [];
  readonly next: MemoryFields = {};
  recheckAt = Infinity;
  constructor(
    readonly now: number,
    private readonly memory: SupervisorMemory,
  ) {}
  /** The decision may change once `t` has passed. */
  until(t: number): void {
    if (t < this.recheckAt) this.recheckAt = t;
  }
  /** The decision may change once `ms` more have passed. */
  within(ms: number): void {
    this.until(this.now + ms);
  }
  /** Marks `check` present; returns how long it has been. */
  since(check: CheckName): number {
    const t0 = this.memory[check] ?? this.now;
    this.next[check] = t0;
    return this.now - t0;
  }
  add(check: CheckName, action: SafetyAction, message: string): void {
    this.findings.push({ check, action, message });
  }
}

export function supervise(now: number, o: Observed, memory: SupervisorMemory = {}, th: Thresholds = DEFAULT_THRESHOLDS): SafetyDecision {
  const j = new Judgement(now, memory);
  if (memory.staleHolds) j.next.staleHolds = memory.staleHolds;

  if (o.discomfort) {
    j.since("discomfort");
    j.add("discomfort", "return", "user reported discomfort");
  }
  if (o.link === "lost" || o.link === "closed") {
    j.since("link");
    j.add("link", "handed-to-firmware", `link ${o.link}: device returning on its own (watchdog)`);
  }

  const tlm = o.tlm;
  if (tlm && o.tlmAt !== undefined) {
    // Arrival time alone would call a frozen device fresh: a hung firmware loop resending its last
    // frame, or a relay replaying it, keeps frames arriving while nothing new is measured. A sample is
    // only as new as the first one that carried its device time.
    const firstAt = memory.tlmT === tlm.t ? memory.tlmTAt : undefined;
    const dataAt = firstAt !== undefined && firstAt < o.tlmAt ? firstAt : o.tlmAt;
    j.next.tlmT = tlm.t;
    j.next.tlmTAt = dataAt;
    checkStale(o, th, j, memory, dataAt, dataAt < o.tlmAt ? ` (device time stuck at ${tlm.t} ms)` : "");
    checkDevice(tlm, o, j);
    checkMotion(tlm, o, th, j);
  }

  let action: SafetyAction = "none";
  for (const f of j.findings) action = mostSevere(action, f.action);
  return { action, findings: j.findings, memory: j.next, recheckAt: j.recheckAt };
}

/** Built only for a finding: the check runs on every sample. */
function staleMessage(age: number, stuck: string): string {
  return `telemetry is ${Math.round(age)} ms old${stuck}`;
}

function checkStale(o: Observed, th: Thresholds, j: Judgement, memory: SupervisorMemory, dataAt: number, stuck: string): void {
  const now = j.now;
  const age = now - dataAt;
  const warnMs = th.staleWarnPeriods * o.tlmPeriodMs;
  let held = memory.staleHold;
  if (held === undefined && age > th.staleHoldPeriods * o.tlmPeriodMs) {
    held = now;
    // Pruned only here, so the memory stays the same between onsets (see recheckAt).
    const recent = (memory.staleHolds ?? []).filter((t) => now - t < th.staleRepeatWindowMs);
    j.next.staleHolds = [...recent, now].slice(-th.staleRepeatHolds);
  }
  if (held === undefined) {
    if (age > warnMs) {
      j.since("stale");
      j.add("stale", "warn", staleMessage(age, stuck));
      // The message carries the age.
      j.until(now);
    } else j.until(dataAt + warnMs);
    return;
  }
  const start = held;
  const repeats = (j.next.staleHolds ?? []).filter((t) => start - t < th.staleRepeatWindowMs).length;
  const action: SafetyAction = repeats >= th.staleRepeatHolds ? "return" : "hold";
  const why = action === "return" ? `; ${repeats} stale holds within ${th.staleRepeatWindowMs / 1000} s` : "";
  if (age > warnMs) {
    j.since("stale");
    j.next.staleHold = held;
    j.add("stale", action, staleMessage(age, stuck) + why);
    j.until(now);
    return;
  }
  // On time now. The run is unbroken only if no gap between the last sample judged and this one let the
  // data grow older than the warn threshold: a caller may not have looked during the gap.
  const runFrom = memory.freshSince;
  const prevAt = memory.tlmTAt;
  const since = runFrom !== undefined && prevAt !== undefined && dataAt - prevAt <= warnMs ? runFrom : dataAt;
  const clearMs = th.staleClearPeriods * o.tlmPeriodMs;
  if (now - since >= clearMs) {
    j.until(dataAt + warnMs);
    return;
  }
  j.since("stale");
  j.next.staleHold = held;
  j.next.freshSince = since;
  j.add("stale", action, `telemetry back after a stale hold, not yet on time for ${clearMs} ms${why}`);
  j.until(Math.min(since + clearMs, dataAt + warnMs));
}

function checkDevice(tlm: TelemetryMsg, o: Observed, j: Judgement): void {
  if (tlm.faults.length > 0) {
    j.since("device-fault");
    const critical = tlm.faults.some((f) => faultSpec(f)?.severity === "critical");
    // A critical fault or a firmware return in progress belongs to the firmware; otherwise the
    // companion may drive the slow return itself (it falls back to the device's return if refused).
    const action: SafetyAction = critical || tlm.mode === "returning" ? "handed-to-firmware" : "return";
    j.add("device-fault", action, `device fault ${tlm.faults.join(", ")}`);
  } else if (tlm.mode === "fault") {
    j.since("device-fault");
    j.add("device-fault", "return", "device in fault mode");
  }
  if (tlm.mode === "returning" && o.expect.phase !== "returning") {
    j.since("device-returning");
    j.add("device-returning", "handed-to-firmware", "device started its own return");
  }
  if (tlm.sw === "pressed") {
    j.since("stop-switch");
    j.add("stop-switch", "handed-to-firmware", "patient stop switch pressed");
  } else if (tlm.sw === "disconnected") {
    j.since("stop-switch");
    j.add("stop-switch", "return", "patient stop switch disconnected");
  }
  if (!tlm.lock && tlm.tilt > 1 && o.expect.phase !== "returning") {
    j.since("ankle-lock");
    j.add("ankle-lock", "return", `ankle lock open at ${tlm.tilt.toFixed(1)} deg head-down`);
  }
}

function checkMotion(tlm: TelemetryMsg, o: Observed, th: Thresholds, j: Judgement): void {
  const lim = o.limits;
  const low = Math.min(lim.tiltMin, o.upright) - th.limitMarginDeg;
  if (tlm.tilt > lim.tiltMax + th.limitMarginDeg || tlm.tilt < low) {
    j.since("tilt-limit");
    j.add("tilt-limit", "return", `tilt ${tlm.tilt.toFixed(1)} deg outside ${lim.tiltMin}..${lim.tiltMax}`);
  }
  const force = tlm.force ?? 0;
  if (force > lim.forceMax + th.forceMarginN) {
    j.since("force-limit");
    j.add("force-limit", "return", `force ${force.toFixed(0)} N above ${lim.forceMax} N`);
  }
  const vmax = lim.speedMax + Math.max(th.speedMarginAbs, th.speedMarginFrac * lim.speedMax);
  if (Math.abs(tlm.vel) > vmax) {
    const d = j.since("overspeed");
    const msg = `speed ${Math.abs(tlm.vel).toFixed(1)} deg/s above ${lim.speedMax} deg/s`;
    j.add("overspeed", d >= th.overspeedMs ? "return-reduced-speed" : "warn", msg);
    if (d < th.overspeedMs) j.within(th.overspeedMs - d);
  }
  const gap = Math.abs(tlm.tilt - tlm.tilt2);
  if (gap > th.mismatchDeg) {
    const d = j.since("sensor-mismatch");
    const msg = `tilt sensors disagree by ${gap.toFixed(1)} deg`;
    j.add("sensor-mismatch", d >= th.mismatchMs ? "return-reduced-speed" : "warn", msg);
    if (d < th.mismatchMs) j.within(th.mismatchMs - d);
  }
  const e = o.expect;
  if (e.phase !== "idle" && e.tiltTarget !== undefined) {
    const from = e.phase === "holding" ? e.tiltTarget : (e.tiltFrom ?? e.tiltTarget);
    const lo = Math.min(from, e.tiltTarget) - th.trackingTolDeg;
    const hi = Math.max(from, e.tiltTarget) + th.trackingTolDeg;
    if (tlm.tilt < lo || tlm.tilt > hi) {
      const d = j.since("tracking");
      const msg = `tilt ${tlm.tilt.toFixed(1)} deg off the expected ${lo + th.trackingTolDeg}..${hi - th.trackingTolDeg}`;
      // While returning, holding the user where they are is worse than carrying on: never "hold".
      const act: SafetyAction =
        d >= th.trackingReturnMs ? (e.phase === "returning" ? "handed-to-firmware" : "return") : d >= th.trackingHoldMs && e.phase !== "returning" ? "hold" : "warn";
      j.add("tracking", act, msg);
      if (e.phase !== "returning" && d < th.trackingHoldMs) j.within(th.trackingHoldMs - d);
      else if (d < th.trackingReturnMs) j.within(th.trackingReturnMs - d);
    }
  }
}
