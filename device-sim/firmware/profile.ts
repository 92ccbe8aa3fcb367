// Accel-limited, trapezoidal setpoint generation in discrete time. Every step changes the velocity by at
// most accel*dt (no speed steps) and the braking distance is computed for the same discrete sequence the
// generator will actually produce, so a segment lands exactly on its target: no overshoot of a target
// (and so of a limit) in normal operation, and the final approach never exceeds the segment's end speed.

export interface AxisSetpoint {
  p: number;
  v: number;
}

export interface Segment {
  target: number;
  /** Cruise speed, > 0. */
  vMax: number;
  accel: number;
  /** Speed to arrive with (0 = stop on target; > 0 hands over to a following segment). */
  vEnd?: number;
}

/**
 * Shortest distance covered while decelerating from u, in steps of dv, until the speed is <= vEnd
 * (speeds never go below zero).
 */
export function brakeDistance(u: number, vEnd: number, dv: number, dt: number): number {
  if (u <= vEnd) return 0;
  const m = Math.ceil((u - vEnd) / dv - 1e-12);
  return dt * ((m - 1) * u - (dv * (m - 1) * m) / 2 + Math.max(0, u - m * dv));
}

/** Distance to come if the next step runs at x and braking starts right after. */
function reach(x: number, vEnd: number, dv: number, dt: number): number {
  return x * dt + brakeDistance(x, vEnd, dv, dt);
}

/** Largest speed toward the target in [u-dv, min(u+dv, vMax)] from which the target is still reachable. */
export function nextSpeed(u: number, dist: number, vMax: number, vEnd: number, dv: number, dt: number): number {
  let lo = u - dv;
  const hi = Math.max(lo, Math.min(u + dv, vMax));
  if (reach(hi, vEnd, dv, dt) <= dist) return hi;
  if (reach(lo, vEnd, dv, dt) > dist) return lo; // Unavoidable overshoot (target moved under us); the limit guard covers limits.
  let top = hi;
  for (let i = 0; i < 40 && top - lo > 1e-12; i++) {
    const mid = (lo + top) / 2;
    if (reach(mid, vEnd, dv, dt) <= dist) lo = mid;
    else top = mid;
  }
  return lo;
}

const EPS = 1e-9;

/** Advances a setpoint one step toward a segment's target. `arrived` once on target (with vEnd kept). */
export function stepSegment(sp: AxisSetpoint, seg: Segment, dt: number): { sp: AxisSetpoint; arrived: boolean } {
  const vEnd = Math.min(seg.vEnd ?? 0, seg.vMax);
  const dv = seg.accel * dt;
  const d = seg.target - sp.p;
  const dir = d > 0 ? 1 : d < 0 ? -1 : sp.v > 0 ? -1 : 1;
  const dist = Math.abs(d);
  const u = sp.v * dir;
  if (dist < EPS && (vEnd > 0 ? true : Math.abs(u) <= dv)) {
    return { sp: { p: seg.target, v: vEnd > 0 ? dir * Math.min(Math.abs(u), vEnd) : 0 }, arrived: true };
  }
  const un = nextSpeed(u, dist, seg.vMax, vEnd, dv, dt);
  let p = sp.p + un * dir * dt;
  // Land exactly instead of leaving a rounding crumb behind.
  if (Math.abs(seg.target - p) < EPS) p = seg.target;
  // A segment that hands over at speed ends where it reaches (or just passes) its target.
  const reached = vEnd > 0 && (p - seg.target) * dir >= -EPS;
  return { sp: { p, v: un * dir }, arrived: reached };
}

/** Decelerates toward zero speed at `decel`; `stopped` once at rest. */
export function stepBrake(sp: AxisSetpoint, decel: number, dt: number): { sp: AxisSetpoint; stopped: boolean } {
  const dv = decel * dt;
  const s = Math.sign(sp.v);
  const u = Math.max(0, Math.abs(sp.v) - dv);
  return { sp: { p: sp.p + s * u * dt, v: s * u }, stopped: u === 0 };
}

/**
 * Hard-limit guard, independent of whatever segment is active: the segments never aim outside the limits,
 * so this only acts if something else went wrong; then it brakes at the emergency rate so the setpoint
 * still stops inside [lo, hi], and as a last resort pins it at the limit.
 */
export function guardLimits(prev: AxisSetpoint, next: AxisSetpoint, lo: number, hi: number, emergency: number, dt: number): AxisSetpoint {
  const s = Math.sign(next.v);
  // Standing still is never a limit problem (the table may rest a hair outside the margin, e.g. at boot).
  if (s === 0) return next;
  const dv = emergency * dt;
  const room = s > 0 ? hi - next.p : next.p - lo;
  if (room >= -EPS && brakeDistance(Math.abs(next.v), 0, dv, dt) <= room + EPS) return next;
  const before = s > 0 ? hi - prev.p : prev.p - lo;
  if (before <= EPS) return { p: prev.p, v: 0 };
  const u = Math.sign(prev.v) === s ? Math.max(0, Math.abs(prev.v) - dv) : 0;
  const p = prev.p + s * u * dt;
  if ((s > 0 && p >= hi) || (s < 0 && p <= lo)) return { p: s > 0 ? hi : lo, v: 0 };
  return { p, v: s * u };
}
