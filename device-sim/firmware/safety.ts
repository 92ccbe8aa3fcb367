// Safety logic as pure step functions, PX4 style: `monitor` turns one step's inputs into fault trips
// (edges), `decide` picks the most severe reaction among the pending trips. Both are plain functions of
// (now, inputs, state) so tests can drive them with explicit timestamps.
import { FAULTS, type FaultCodeName, type SwitchStateT } from "../../protocol/index.js";

export interface Trip {
  code: FaultCodeName;
  msg: string;
}

export interface MonitorParams {
  watchdogMs: number;
  mismatchDeg: number;
  mismatchMs: number;
  currentMaxA: number;
  overcurrentMs: number;
  stallMs: number;
  stallMinSpeed: number;
  /** A stalled rotor draws current: no movement below this current is a sensor question, not a stall. */
  stallDetectA: number;
  maxInvertedS: number;
  upright: number;
  approachZone: number;
  forceTripN: number;
  hasTilt: boolean;
  hasTraction: boolean;
}

export interface MonitorInputs {
  encoder: number;
  inclinometer: number;
  /** The inclinometer's stored mounting calibration (inclinometer minus encoder while both are right). */
  incOffset: number;
  current: number;
  loadCell: number;
  sw: SwitchStateT;
  lock: boolean;
  /** Tilt setpoint velocity commanded this step. */
  cmdVel: number;
  /** Last valid frame; undefined until a peer has spoken since boot (the watchdog is not armed yet). */
  lastRxAt: number | undefined;
  /** The firmware's tilt estimate. */
  estimate: number;
}

export interface MonitorState {
  lastNow: number;
  sw: SwitchStateT;
  lock: boolean;
  wdTripped: boolean;
  mismatchSince?: number;
  mismatchTripped: boolean;
  overSince?: number;
  overTripped: boolean;
  stallSince?: number;
  stallRef: number;
  overforceSince?: number;
  overforceTripped: boolean;
  invertedMs: number;
  invertedTripped: boolean;
}

export function initialMonitorState(now: number, sw: SwitchStateT, lock: boolean): MonitorState {
  return {
    lastNow: now,
    sw,
    lock,
    wdTripped: false,
    mismatchTripped: false,
    overTripped: false,
    stallRef: 0,
    overforceTripped: false,
    invertedMs: 0,
    invertedTripped: false,
  };
}

export function monitor(now: number, inp: MonitorInputs, prev: MonitorState, p: MonitorParams): { state: MonitorState; trips: readonly Trip[] } {
  const st: MonitorState = { ...prev, lastNow: now };
  // No helper closure and no array until something trips: this runs every physics step of every
  // simulated device, and almost every step trips nothing.
  let trips: Trip[] | undefined;
  const dt = Math.max(0, now - prev.lastNow);

  // Link watchdog: armed once a peer has spoken; fires once per silence.
  if (inp.lastRxAt !== undefined && now - inp.lastRxAt >= p.watchdogMs && !st.wdTripped) {
    st.wdTripped = true;
    trips = addTrip(trips, { code: "WATCHDOG", msg: `no valid frame for ${Math.round(now - inp.lastRxAt)} ms` });
  }

  // Patient stop switch: edges only; the level is enforced where motion starts.
  if (inp.sw !== prev.sw) {
    if (inp.sw === "pressed") trips = addTrip(trips, { code: "STOP_SWITCH", msg: "patient stop switch pressed" });
    if (inp.sw === "disconnected") trips = addTrip(trips, { code: "SWITCH_DISCONNECTED", msg: "patient stop switch disconnected" });
    st.sw = inp.sw;
  }

  const nearUpright = inp.estimate <= p.upright + p.approachZone;
  if (p.hasTilt) {
    // Ankle lock opening matters while inverted or while tilting head-down.
    if (prev.lock && !inp.lock && (inp.estimate > 0 || inp.cmdVel > 0)) {
      trips = addTrip(trips, { code: "ANKLE_LOCK_OPEN", msg: `ankle lock opened at ${inp.estimate.toFixed(1)} deg` });
    }

    // Through the calibration: a raw comparison would shift the threshold by the mounting offset, missing
    // a failure toward it and tripping on a small one away from it.
    if (Math.abs(inp.inclinometer - inp.incOffset - inp.encoder) <= p.mismatchDeg) {
      st.mismatchSince = undefined;
      st.mismatchTripped = false;
    } else st.mismatchSince ??= now;
    if (st.mismatchSince !== undefined && now - st.mismatchSince >= p.mismatchMs && !st.mismatchTripped) {
      st.mismatchTripped = true;
      trips = addTrip(trips, {
        code: "SENSOR_MISMATCH",
        msg: `encoder ${inp.encoder.toFixed(1)} vs inclinometer ${inp.inclinometer.toFixed(1)} deg`,
      });
    }

    if (inp.current <= p.currentMaxA) {
      st.overSince = undefined;
      st.overTripped = false;
    } else st.overSince ??= now;
    if (st.overSince !== undefined && now - st.overSince >= p.overcurrentMs && !st.overTripped) {
      st.overTripped = true;
      trips = addTrip(trips, { code: "OVERCURRENT", msg: `motor current ${inp.current.toFixed(1)} A > ${p.currentMaxA} A` });
    }

    // Stall: commanded motion, stall-level current, and the position stays within a small band for stallMs.
    const band = Math.max(0.05, 0.3 * p.stallMinSpeed * (p.stallMs / 1000));
    if (Math.abs(inp.cmdVel) < p.stallMinSpeed || inp.current < p.stallDetectA) st.stallSince = undefined;
    else if (st.stallSince === undefined || Math.abs(inp.estimate - st.stallRef) > band) {
      st.stallSince = now;
      st.stallRef = inp.estimate;
    } else if (now - st.stallSince >= p.stallMs) {
      st.stallSince = undefined;
      trips = addTrip(trips, { code: "MOTOR_STALL", msg: `no movement at ${inp.estimate.toFixed(1)} deg while driving ${inp.cmdVel.toFixed(1)} deg/s` });
    }

    // Time head-down since the table was last near upright.
    if (nearUpright) {
      st.invertedMs = 0;
      st.invertedTripped = false;
    } else if (inp.estimate > 0) st.invertedMs += dt;
    if (st.invertedMs > p.maxInvertedS * 1000 && !st.invertedTripped) {
      st.invertedTripped = true;
      trips = addTrip(trips, { code: "MAX_TIME_INVERTED", msg: `head-down for ${Math.round(st.invertedMs / 1000)} s` });
    }
  }
  st.lock = inp.lock;

  if (p.hasTraction) {
    if (inp.loadCell <= p.forceTripN) {
      st.overforceSince = undefined;
      st.overforceTripped = false;
    } else st.overforceSince ??= now;
    if (st.overforceSince !== undefined && now - st.overforceSince >= OVERFORCE_MS && !st.overforceTripped) {
      st.overforceTripped = true;
      trips = addTrip(trips, { code: "OVERFORCE", msg: `load cell ${inp.loadCell.toFixed(0)} N > ${p.forceTripN} N` });
    }
  }
  return { state: st, trips: trips ?? NO_TRIPS };
}

function addTrip(trips: Trip[] | undefined, t: Trip): Trip[] {
  if (trips === undefined) return [t];
  trips.push(t);
  return trips;
}

const OVERFORCE_MS = 100;
const NO_TRIPS: readonly Trip[] = [];

export interface Reaction {
  /** Higher wins. */
  rank: number;
  reduced: boolean;
  brake: "emergency" | "normal";
}

/** Failsafe reactions, ordered by severity (critical sensor/drive faults first). */
export const REACTIONS: Partial<Record<FaultCodeName, Reaction>> = {
  SENSOR_MISMATCH: { rank: 3, reduced: true, brake: "emergency" },
  OVERCURRENT: { rank: 3, reduced: true, brake: "emergency" },
  MOTOR_STALL: { rank: 3, reduced: true, brake: "emergency" },
  STOP_SWITCH: { rank: 2, reduced: false, brake: "emergency" },
  SWITCH_DISCONNECTED: { rank: 2, reduced: false, brake: "emergency" },
  ANKLE_LOCK_OPEN: { rank: 2, reduced: false, brake: "emergency" },
  OVERFORCE: { rank: 1, reduced: false, brake: "normal" },
  WATCHDOG: { rank: 1, reduced: false, brake: "normal" },
  MAX_TIME_INVERTED: { rank: 1, reduced: false, brake: "normal" },
  POWER_LOSS: { rank: 1, reduced: false, brake: "normal" },
};

export type SafetyAction = { kind: "none" } | ({ kind: "return"; cause: FaultCodeName } & Reaction);

export interface DecideState {
  pending: readonly FaultCodeName[];
  /** The return in progress, if any. */
  active?: { rank: number; reduced: boolean };
  /** Upright, stationary, no traction: nothing to bring back. */
  safe: boolean;
  /** A critical fault is latched: any return runs at reduced speed. */
  criticalLatched: boolean;
}

export function decide(_now: number, s: DecideState): SafetyAction {
  let best: SafetyAction = { kind: "none" };
  for (const code of s.pending) {
    const r = REACTIONS[code];
    if (!r) continue;
    if (best.kind === "none" || r.rank > best.rank) best = { kind: "return", cause: code, ...r };
  }
  if (best.kind === "none") return best;
  const reduced = best.reduced || s.criticalLatched;
  if (s.active) {
    // A less severe trip leaves a running return alone, unless a critical fault now wants it slower
    // (OVERFORCE is critical but ranks with the link faults): the speed follows the most severe cause.
    if (s.active.rank >= best.rank && (s.active.reduced || !reduced)) return { kind: "none" };
    return { ...best, rank: Math.max(best.rank, s.active.rank), reduced };
  }
  if (s.safe) return { kind: "none" };
  return { ...best, reduced };
}

export function isCritical(code: string): boolean {
  return (FAULTS as Record<string, { severity: string }>)[code]?.severity === "critical";
}
