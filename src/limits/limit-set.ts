// The shape shared by the three limit sources (device hard limits, the user's profile, the program).
// Kept apart from effective.ts so the program schema can declare a program's own limits without
// importing the combining logic.
import { z } from "zod";

export const TILT_MIN_DEG = -80;
export const TILT_MAX_DEG = 90;

export const LimitSetSchema = z
  .strictObject({
    tiltMin: z.number().min(TILT_MIN_DEG).max(TILT_MAX_DEG).optional().describe("Lowest tilt, degrees"),
    tiltMax: z.number().min(TILT_MIN_DEG).max(TILT_MAX_DEG).optional().describe("Highest tilt (most head-down), degrees"),
    speedMax: z.number().positive().max(90).optional().describe("Fastest tilt speed, degrees/s"),
    forceMax: z.number().min(0).max(5000).optional().describe("Strongest traction force, newtons"),
    rateMax: z.number().positive().max(1000).optional().describe("Fastest force change, newtons/s"),
  })
  .refine((l) => l.tiltMin === undefined || l.tiltMax === undefined || l.tiltMin <= l.tiltMax, {
    message: "must not be above tiltMax",
    path: ["tiltMin"],
  });

export interface LimitSet {
  tiltMin?: number;
  tiltMax?: number;
  speedMax?: number;
  forceMax?: number;
  rateMax?: number;
}

export const LIMIT_FIELDS = ["tiltMin", "tiltMax", "speedMax", "forceMax", "rateMax"] as const satisfies readonly (keyof LimitSet)[];
