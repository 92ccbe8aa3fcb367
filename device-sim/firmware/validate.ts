// Command checks against the hard limits (the device's own) and the soft limits (the companion's, which
// must lie inside the hard ones). Each returns a reason naming the field, or undefined when acceptable.
import type { LimitsMsg } from "../../protocol/index.js";
import type { SimConfig } from "../config.js";

export interface SoftLimits {
  tiltMin: number;
  tiltMax: number;
  speedMax: number;
  forceMax: number;
  rateMax: number;
}

export function hardSoftLimits(c: SimConfig): SoftLimits {
  return { tiltMin: c.tilt.min, tiltMax: c.tilt.max, speedMax: c.tilt.speedMax, forceMax: c.traction.max, rateMax: c.traction.rateMax };
}

export function checkMove(c: SimConfig, soft: SoftLimits, target: number, speed: number): string | undefined {
  const t = c.tilt;
  if (target < t.min || target > t.max) return `target ${target} outside hard limits [${t.min}, ${t.max}]`;
  if (speed > t.speedMax) return `speed ${speed} > hard speedMax ${t.speedMax}`;
  if (target < soft.tiltMin || target > soft.tiltMax) return `target ${target} outside soft limits [${soft.tiltMin}, ${soft.tiltMax}]`;
  if (speed > soft.speedMax) return `speed ${speed} > soft speedMax ${soft.speedMax}`;
  return undefined;
}

export function checkForce(c: SimConfig, soft: SoftLimits, target: number, rate: number): string | undefined {
  const tr = c.traction;
  if (target > tr.max) return `target ${target} > hard force max ${tr.max}`;
  if (rate > tr.rateMax) return `rate ${rate} > hard rateMax ${tr.rateMax}`;
  if (target > soft.forceMax) return `target ${target} > soft forceMax ${soft.forceMax}`;
  if (rate > soft.rateMax) return `rate ${rate} > soft rateMax ${soft.rateMax}`;
  return undefined;
}

/** Merges a `limits` command into the current soft limits, or explains which field is outside the hard ones. */
export function mergeLimits(c: SimConfig, cur: SoftLimits, m: LimitsMsg): { ok: true; soft: SoftLimits } | { ok: false; reason: string } {
  const t = c.tilt;
  const tr = c.traction;
  const bad = (reason: string) => ({ ok: false as const, reason });
  if (m.tiltMin !== undefined && (m.tiltMin < t.min || m.tiltMin > t.max)) return bad(`tiltMin ${m.tiltMin} outside hard limits [${t.min}, ${t.max}]`);
  if (m.tiltMax !== undefined && (m.tiltMax < t.min || m.tiltMax > t.max)) return bad(`tiltMax ${m.tiltMax} outside hard limits [${t.min}, ${t.max}]`);
  if (m.speedMax !== undefined && m.speedMax > t.speedMax) return bad(`speedMax ${m.speedMax} > hard speedMax ${t.speedMax}`);
  if (m.forceMax !== undefined && m.forceMax > tr.max) return bad(`forceMax ${m.forceMax} > hard force max ${tr.max}`);
  if (m.rateMax !== undefined && m.rateMax > tr.rateMax) return bad(`rateMax ${m.rateMax} > hard rateMax ${tr.rateMax}`);
  const soft: SoftLimits = {
    tiltMin: m.tiltMin ?? cur.tiltMin,
    tiltMax: m.tiltMax ?? cur.tiltMax,
    speedMax: m.speedMax ?? cur.speedMax,
    forceMax: m.forceMax ?? cur.forceMax,
    rateMax: m.rateMax ?? cur.rateMax,
  };
  if (soft.tiltMin >= soft.tiltMax) return bad(`tiltMin ${soft.tiltMin} must be < tiltMax ${soft.tiltMax}`);
  return { ok: true, soft };
}
