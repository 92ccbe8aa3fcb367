// When the fleet bench sends its pause/resume requests during the measuring window.
//
// `poisson` (the default): the people at a thousand tables press their buttons independently of one another,
// so the gaps between requests are exponential (an open-loop Poisson process at the mean rate). A request
// is sent at its time whether or not earlier ones were answered, so a slow system cannot slow the load
// down and hide its own delay.
// `burst`: every 50 ms the whole batch for that slice is sent in the same millisecond, so the last request
// of a batch waits behind the others at the broker and the bridge. The earlier fleet figures were taken
// this way; it stays available to compare with them and as the harsher pattern.
import type { Rng } from "../protocol/transport/inproc-pipe.js";

export type ArrivalPattern = "poisson" | "burst";
export const ARRIVAL_PATTERNS: readonly ArrivalPattern[] = ["poisson", "burst"];

/** The slice of the burst pattern. */
export const BURST_EVERY_MS = 50;

/**
 * Send times, in ms from the start of the window and in order, of the requests in a window of `windowMs`
 * at `ratePerS` requests per second in all.
 */
export function arrivalTimes(pattern: ArrivalPattern, ratePerS: number, windowMs: number, rng: Rng): number[] {
  if (!(ratePerS > 0)) throw new RangeError("request rate must be > 0 per second");
  const times: number[] = [];
  if (pattern === "burst") {
    const perBurst = Math.max(1, Math.round((ratePerS * BURST_EVERY_MS) / 1000));
    for (let t = 0; t < windowMs; t += BURST_EVERY_MS) for (let k = 0; k < perBurst; k++) times.push(t);
    return times;
  }
  const meanGapMs = 1000 / ratePerS;
  // 1 - u is in (0, 1], so the logarithm is finite.
  for (let t = -Math.log(1 - rng()) * meanGapMs; t < windowMs; t += -Math.log(1 - rng()) * meanGapMs) times.push(t);
  return times;
}
