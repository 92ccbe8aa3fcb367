// Time left in the companion's slow return, phase by phase (constant speeds; acceleration adds a few
// tenths of a second per phase), for the live view's "time left".
export const RETURN_PHASES = ["release", "descend", "rest", "toPause", "pause", "rise", "approach"] as const;
export type ReturnPhaseName = (typeof RETURN_PHASES)[number];

export interface ReturnEstimateInput {
  tilt: number;
  force: number;
  wasHeadDown: boolean;
  /** The phase running now and how long it has run (s); omitted: the return has not started. */
  phase?: ReturnPhaseName;
  inPhaseS?: number;
}

export interface ReturnEstimateSettings {
  upright: number;
  returnSpeed: number;
  approachSpeed: number;
  approachZone: number;
  restS: number;
  pauseS: number;
  pauseTilt: number;
  returnRate: number;
}

export function returnRemainingS(x: ReturnEstimateInput, r: ReturnEstimateSettings): number {
  const start = x.phase === undefined ? 0 : RETURN_PHASES.indexOf(x.phase);
  const inPhase = x.inPhaseS ?? 0;
  let tilt = x.tilt;
  let total = 0;
  const moveTo = (target: number, speed: number): void => {
    if (tilt > target) total += (tilt - target) / speed;
    tilt = Math.min(tilt, target);
  };
  for (let i = Math.max(0, start); i < RETURN_PHASES.length; i++) {
    const p = RETURN_PHASES[i];
    const here = i === start && x.phase !== undefined;
    switch (p) {
      case "release":
        // Nothing to release takes no time, even where the limits allow no traction at all (rate 0).
        if (x.force > 0) total += x.force / r.returnRate;
        break;
      case "descend":
        moveTo(0, r.returnSpeed);
        break;
      case "rest":
        if (x.wasHeadDown) total += Math.max(0, r.restS - (here ? inPhase : 0));
        break;
      case "toPause":
        if (x.wasHeadDown) moveTo(r.pauseTilt, r.returnSpeed);
        break;
      case "pause":
        if (x.wasHeadDown) total += Math.max(0, r.pauseS - (here ? inPhase : 0));
        break;
      case "rise":
        moveTo(r.upright + r.approachZone, r.returnSpeed);
        break;
      case "approach":
        moveTo(r.upright, r.approachSpeed);
        break;
    }
  }
  return total;
}
