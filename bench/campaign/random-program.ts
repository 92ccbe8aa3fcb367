// Random, valid session programs for the reliability campaign: random steps within the device's limits,
// short enough that thousands of sessions run in minutes, plus the built-in programs as they ship.
import type { Rng } from "../../protocol/index.js";
import { BUILTIN_PROGRAMS } from "../../src/programs/library.js";
import { parseProgram, type Program, type ProgramInput } from "../../src/programs/schema.js";
import type { LimitSet } from "../../src/limits/limit-set.js";

type StepInput = ProgramInput["steps"][number];

export const uniform = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng();
export const int = (rng: Rng, lo: number, hi: number): number => Math.floor(uniform(rng, lo, hi + 1));
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;
const round1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * Angles stay at or above upright + the approach zone (-70): a program step that itself drives the table
 * into the last 10 degrees at cruise speed would be indistinguishable from a fast final approach.
 */
const ANGLE_LO = -70;

export interface CampaignProgram {
  program: Program;
  profileLimits: LimitSet;
  builtin: boolean;
}

function randomStep(rng: Rng, maxAngle: number, speedMax: number): StepInput {
  const angle = (): number => round1(uniform(rng, ANGLE_LO, maxAngle));
  const speed = (): number => round1(uniform(rng, 0.5, speedMax));
  switch (pick(rng, ["ramp", "ramp", "hold", "pump", "traction", "rest"] as const)) {
    case "ramp":
      return { type: "ramp", to: angle(), speed: speed() };
    case "hold":
      return { type: "hold", seconds: round1(uniform(rng, 0.5, 12)) };
    case "pump": {
      const from = angle();
      let to = angle();
      if (to === from) to = from === maxAngle ? from - 5 : Math.min(maxAngle, from + 5);
      return { type: "pump", from, to, cycles: int(rng, 1, 2), dwell: round1(uniform(rng, 0, 3)), speed: speed() };
    }
    case "traction":
      return {
        type: "traction",
        target: int(rng, 20, 400),
        holdS: round1(uniform(rng, 1, 10)),
        restS: round1(uniform(rng, 0, 5)),
        restPct: int(rng, 0, 80),
        cycles: int(rng, 1, 2),
        rate: round1(uniform(rng, 5, 50)),
      };
    case "rest":
      return { type: "rest", seconds: round1(uniform(rng, 0.5, 10)), ...(rng() < 0.5 ? { angle: angle() } : {}) };
  }
}

/** A random program (or, one time in five, a built-in one) with random program and profile limits. */
export function randomProgram(rng: Rng, seed: number): CampaignProgram {
  const profileLimits: LimitSet = {};
  if (rng() < 0.5) profileLimits.tiltMax = int(rng, 10, 90);
  if (rng() < 0.4) profileLimits.speedMax = round1(uniform(rng, 2, 10));
  if (rng() < 0.3) profileLimits.forceMax = int(rng, 100, 700);
  if (rng() < 0.2) {
    const names = Object.keys(BUILTIN_PROGRAMS);
    const program = BUILTIN_PROGRAMS[pick(rng, names)] as Program;
    return { program, profileLimits, builtin: true };
  }
  const limits: LimitSet = {};
  if (rng() < 0.5) limits.tiltMax = int(rng, 0, 90);
  if (rng() < 0.5) limits.speedMax = round1(uniform(rng, 2, 10));
  if (rng() < 0.3) limits.forceMax = int(rng, 100, 700);
  if (rng() < 0.3) limits.rateMax = int(rng, 10, 50);
  // Steps stay inside the limits they will run under, so the session is not refused at preflight
  // (refusal is exercised too, but rarely: one program in ten ignores them).
  const obey = rng() < 0.9;
  const maxAngle = obey ? Math.min(limits.tiltMax ?? 90, profileLimits.tiltMax ?? 90, 60) : 90;
  const speedMax = obey ? Math.min(limits.speedMax ?? 10, profileLimits.speedMax ?? 10) : 10;
  const forceMax = Math.min(limits.forceMax ?? 700, profileLimits.forceMax ?? 700);
  const steps: StepInput[] = [];
  const n = int(rng, 1, 4);
  for (let i = 0; i < n; i++) {
    const s = randomStep(rng, Math.max(ANGLE_LO + 5, maxAngle), speedMax);
    if (s.type === "traction" && obey) {
      s.target = Math.min(s.target, Math.floor(forceMax * 0.9));
      s.rate = Math.min(s.rate, limits.rateMax ?? 50);
    }
    steps.push(s);
  }
  if (rng() < 0.3) steps.push({ type: "return" });
  const program = parseProgram({ name: `random-${seed >>> 0}`, limits, steps });
  return { program, profileLimits, builtin: false };
}
