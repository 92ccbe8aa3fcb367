// The firmware's own return profile, planned from where the table is when the return starts:
// descend to the rest angle and rest there (only when the user has been head-down), rise to the pause
// angle and pause, rise to the edge of the approach zone arriving at approach speed, then the final
// approach to upright at no more than approachSpeed. Traction is released in parallel at returnRate.

export type ReturnPhase = "descend" | "rest" | "pause" | "rise" | "approach" | "release";

export type ReturnStep =
  | { phase: ReturnPhase; kind: "move"; target: number; vMax: number; vEnd: number }
  | { phase: ReturnPhase; kind: "hold"; ms: number };

export interface ReturnParams {
  upright: number;
  returnSpeed: number;
  reducedSpeed: number;
  approachSpeed: number;
  approachZone: number;
  restAngle: number;
  restS: number;
  pauseAngle: number;
  pauseS: number;
  tolerance: number;
}

export function planReturn(from: number, p: ReturnParams, opts: { reduced: boolean; rest: boolean }): ReturnStep[] {
  const speed = opts.reduced ? p.reducedSpeed : p.returnSpeed;
  const approach = Math.min(p.approachSpeed, speed);
  const tol = p.tolerance;
  const steps: ReturnStep[] = [];
  let at = from;
  if (at > p.restAngle + tol) {
    steps.push({ phase: "descend", kind: "move", target: p.restAngle, vMax: speed, vEnd: 0 });
    at = p.restAngle;
  }
  // Owed after any time head-down: at the rest angle, or where the table is when the return starts
  // between the pause angle and the rest angle (a pump's low end): still near horizontal, and closer
  // to upright than the rest angle, so never a move back toward head-down.
  if (opts.rest && p.restS > 0 && at > p.pauseAngle + tol && at <= p.restAngle + tol) {
    steps.push({ phase: "rest", kind: "hold", ms: p.restS * 1000 });
  }
  if (at > p.pauseAngle + tol) {
    steps.push({ phase: "rise", kind: "move", target: p.pauseAngle, vMax: speed, vEnd: 0 });
    if (p.pauseS > 0) steps.push({ phase: "pause", kind: "hold", ms: p.pauseS * 1000 });
    at = p.pauseAngle;
  }
  const zoneEdge = p.upright + p.approachZone;
  if (at > zoneEdge + tol) {
    steps.push({ phase: "rise", kind: "move", target: zoneEdge, vMax: speed, vEnd: approach });
    at = zoneEdge;
  }
  if (Math.abs(at - p.upright) > 0) steps.push({ phase: "approach", kind: "move", target: p.upright, vMax: approach, vEnd: 0 });
  return steps;
}

/**
 * Fastest speed toward upright at `distToZone` degrees before the approach zone's edge such that
 * decelerating at `accel` still arrives there at `approach` (inside the zone: `approach`).
 */
export function approachCeiling(distToZone: number, approach: number, accel: number): number {
  return Math.sqrt(approach * approach + 2 * accel * Math.max(0, distToZone));
}
