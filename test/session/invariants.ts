// Safety invariants checked on every ground-truth sample and every telemetry sample of a session.
import type { TelemetryMsg } from "../../protocol/index.js";
import type { SimTruth } from "../../device-sim/index.js";
import type { EffectiveLimits } from "../../src/limits/effective.js";
import type { SessionEvent } from "../../src/session/run-session.js";

export interface InvariantOptions {
  limits: EffectiveLimits;
  upright: number;
  /** The return's cruise speed (deg/s) and final-approach speed. */
  returnSpeed: number;
  approachSpeed: number;
  approachZone: number;
  /** Clock ms at which the slow return started (undefined: no return checks). */
  returnAt?: number;
  /** The return is the firmware's (its own profile): only limits and final state are checked. */
  firmwareReturn?: boolean;
}

/** Small allowances: position tolerance of a finished move and the drive's speed tracking. */
const POS_TOL = 0.5;
const SPEED_TOL = 0.05;
const FORCE_TOL = 3;

export function truthViolations(truths: readonly SimTruth[], o: InvariantOptions): string[] {
  const out: string[] = [];
  const lim = o.limits;
  for (const t of truths) {
    const at = `t=${(t.t / 1000).toFixed(2)}s`;
    if (lim.axes.tilt) {
      if (t.tilt > lim.tiltMax + POS_TOL) out.push(`${at}: tilt ${t.tilt.toFixed(2)} past tiltMax ${lim.tiltMax}`);
      if (t.tilt < o.upright - POS_TOL) out.push(`${at}: tilt ${t.tilt.toFixed(2)} below upright ${o.upright}`);
      if (Math.abs(t.vel) > lim.speedMax + SPEED_TOL) out.push(`${at}: speed ${Math.abs(t.vel).toFixed(2)} over ${lim.speedMax}`);
    }
    if (lim.axes.traction && t.force > lim.forceMax + FORCE_TOL) out.push(`${at}: force ${t.force.toFixed(1)} over ${lim.forceMax}`);
    if (o.returnAt !== undefined && t.t >= o.returnAt && !o.firmwareReturn && lim.axes.tilt) {
      if (Math.abs(t.vel) > o.returnSpeed + SPEED_TOL) out.push(`${at}: return speed ${Math.abs(t.vel).toFixed(2)} over ${o.returnSpeed}`);
      if (t.tilt < o.upright + o.approachZone - POS_TOL && Math.abs(t.vel) > o.approachSpeed + SPEED_TOL) {
        out.push(`${at}: final approach at ${Math.abs(t.vel).toFixed(2)} deg/s (tilt ${t.tilt.toFixed(2)})`);
      }
    }
    if (out.length > 10) break;
  }
  return out;
}

export function telemetryViolations(samples: readonly TelemetryMsg[], o: InvariantOptions): string[] {
  const out: string[] = [];
  const lim = o.limits;
  for (const s of samples) {
    const at = `tlm t=${(s.t / 1000).toFixed(2)}s`;
    if (lim.axes.tilt) {
      if (s.tilt > lim.tiltMax + POS_TOL) out.push(`${at}: tilt ${s.tilt.toFixed(2)} past tiltMax ${lim.tiltMax}`);
      if (Math.abs(s.vel) > lim.speedMax + SPEED_TOL) out.push(`${at}: speed ${Math.abs(s.vel).toFixed(2)} over ${lim.speedMax}`);
    }
    // The load cell is noisy (about 1 N): allow a few sigma over the limit.
    if (lim.axes.traction && (s.force ?? 0) > lim.forceMax + FORCE_TOL + 5) out.push(`${at}: force ${s.force} over ${lim.forceMax}`);
    if (out.length > 10) break;
  }
  return out;
}

/** Longest stretch (s) after `from` during which the table rested within `tol` of `angle`. */
export function longestRest(truths: readonly SimTruth[], from: number, angle: number, tol = 1.5): number {
  let best = 0;
  let start: number | undefined;
  for (const t of truths) {
    if (t.t < from) continue;
    const resting = Math.abs(t.tilt - angle) <= tol && Math.abs(t.vel) < 0.05;
    if (resting) {
      start ??= t.t;
      best = Math.max(best, (t.t - start) / 1000);
    } else start = undefined;
  }
  return best;
}

export function returnStart(events: readonly SessionEvent[]): number | undefined {
  return events.find((e) => e.code === "RETURN")?.t;
}
