// The program a ramp-up step runs: a gentle ramp to the step's angle, a hold for the step's minutes,
// then the slow return every session ends with. The program carries its own tiltMax so the effective
// limits (and the firmware) stop it at the step's angle even if something else went wrong.
import { parseProgram, type Program } from "../programs/schema.js";
import { DEFAULT_RAMPUP, type NextStep, type RampupConfig } from "./rampup.js";

export type RampupStep = Extract<NextStep, { ok: true }>;

export function rampupProgram(step: Pick<RampupStep, "angle" | "minutes" | "sessionNumber">, cfg: RampupConfig = DEFAULT_RAMPUP): Program {
  return parseProgram(
    {
      name: `rampup-${step.angle}`,
      description: `Beginner ramp-up session ${step.sessionNumber}: ${step.angle}° for ${step.minutes} min.`,
      source: "DOMAIN.md section 2 (beginners: 20-30°, 1-2 min for the first weeks, then 3-5 min)",
      limits: { tiltMax: step.angle, speedMax: cfg.rampSpeed },
      steps: [
        { type: "ramp", label: `ramp to ${step.angle}°`, to: step.angle, speed: cfg.rampSpeed },
        { type: "hold", label: `hold ${step.minutes} min`, seconds: step.minutes * 60 },
        { type: "return" },
      ],
    },
    "ramp-up",
  );
}
