// The simulator's parameters: one zod schema with design defaults (DOMAIN.md section 4 and the agreed
// API). A bad value is refused with the dotted path of the field, so `--config` mistakes read clearly.
import { z } from "zod";

const pos = z.number().positive();
const nonneg = z.number().min(0);

const TiltConfig = z
  .object({
    /** Hard limits in degrees (0 horizontal, positive head-down). */
    min: z.number().min(-180).max(180).default(-80),
    max: z.number().min(-180).max(180).default(90),
    /** Loading position the return drives to; normally equal to `min`. */
    upright: z.number().min(-180).max(180).default(-80),
    speedMax: pos.max(90).default(10),
    accelMax: pos.max(1000).default(10),
    /** Deceleration used by the stop switch and critical faults (stop within 0.5 s from speedMax). */
    emergencyDecel: pos.max(1000).default(30),
    returnSpeed: pos.max(90).default(4),
    /** Return speed after a critical fault (sensor mismatch, overcurrent, stall). */
    reducedSpeed: pos.max(90).default(2),
    approachSpeed: pos.max(90).default(1),
    /** The last degrees before upright run at approachSpeed. */
    approachZone: nonneg.max(90).default(10),
    /** The return rests here (only when the user has been head-down since the table was last near upright) ... */
    restAngle: z.number().min(-180).max(180).default(0),
    restS: nonneg.default(60),
    /** ... and pauses here on the way up. */
    pauseAngle: z.number().min(-180).max(180).default(-15),
    pauseS: nonneg.default(10),
    /** After braking for a return, hold this long before the return profile starts. */
    settleMs: nonneg.max(60_000).default(1000),
    /** Mechanical end stops sit this far outside the hard limits: the firmware must never reach them. */
    endStopMargin: nonneg.max(45).default(3),
    /** Physical acceleration capability of the drive (the firmware never asks for more than emergencyDecel). */
    driveAccel: pos.max(10_000).default(60),
    /** Motion targets stay this far inside the hard limits: the position is only known to the sensors' accuracy. */
    limitMargin: nonneg.max(1).default(0.1),
    /** Angle tolerance for "upright" and for a move being done. */
    tolerance: pos.max(5).default(0.2),
  })
  .strict();

const TractionConfig = z
  .object({
    max: pos.max(5000).default(700),
    rateMax: pos.max(1000).default(50),
    returnRate: pos.max(1000).default(20),
    /** Physical force-rate capability of the drive. */
    driveRate: pos.max(10_000).default(200),
    /** Load cell above max + this margin trips OVERFORCE. */
    overforceMargin: nonneg.default(50),
    tolerance: pos.max(50).default(2),
  })
  .strict();

const SensorConfig = z
  .object({
    encoderNoise: nonneg.max(5).default(0.01),
    encoderBias: z.number().min(-5).max(5).default(0),
    inclinometerNoise: nonneg.max(5).default(0.15),
    inclinometerBias: z.number().min(-5).max(5).default(0.3),
    loadCellNoise: nonneg.max(50).default(1),
    /** Encoder vs inclinometer disagreement that trips SENSOR_MISMATCH, held for mismatchMs. */
    mismatchDeg: pos.max(90).default(5),
    mismatchMs: nonneg.max(60_000).default(200),
  })
  .strict();

const MotorConfig = z
  .object({
    /** Current limit; above it for overcurrentMs trips OVERCURRENT. */
    currentMaxA: pos.max(100).default(8),
    overcurrentMs: nonneg.max(60_000).default(100),
    /** Commanded speed above stallMinSpeed with no encoder movement for stallMs trips MOTOR_STALL. */
    stallMs: pos.max(60_000).default(300),
    stallMinSpeed: pos.max(90).default(0.5),
    stallCurrentA: pos.max(100).default(6),
    /** Current above which "no movement" reads as a stall rather than a sensor fault. */
    stallDetectA: pos.max(100).default(5),
    /** After a stall the return is retried after this long. */
    stallRetryMs: pos.max(600_000).default(2000),
  })
  .strict();

const InitialState = z
  .object({
    tilt: z.number().min(-180).max(180).optional(),
    force: nonneg.default(0),
    lock: z.boolean().default(true),
    sw: z.enum(["ok", "pressed", "disconnected"]).default("ok"),
  })
  .strict();

export const SimConfigSchema = z
  .object({
    model: z.enum(["table", "stretcher", "combo"]).default("table"),
    serial: z.string().min(1).max(64).default("SIM-0001"),
    fw: z.string().min(1).max(32).default("sim-1.0.0"),
    tilt: TiltConfig.default(() => TiltConfig.parse({})),
    traction: TractionConfig.default(() => TractionConfig.parse({})),
    sensors: SensorConfig.default(() => SensorConfig.parse({})),
    motor: MotorConfig.default(() => MotorConfig.parse({})),
    initial: InitialState.default(() => InitialState.parse({})),
    watchdogMs: z.number().int().min(50).max(60_000).default(1000),
    tlmHz: z.number().min(1).max(1000).default(10),
    /** Physics step; the firmware runs once per step (lockstep). */
    stepMs: z.number().min(1).max(100).default(10),
    maxInvertedS: pos.default(900),
    userWeightKg: pos.max(300).default(80),
    userMaxKg: pos.max(500).default(136),
    userMaxCm: pos.max(300).default(198),
    /** Recently seen command ids kept for idempotency. */
    idCacheSize: z.number().int().min(8).max(10_000).default(64),
  })
  .strict();

export type SimConfig = z.infer<typeof SimConfigSchema>;
export type SimModel = SimConfig["model"];

/** Standstill after the stop switch or a critical fault (PROTOCOL.md 9.2, 9.3). */
export const STOP_WITHIN_S = 0.5;

export class SimConfigError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = "SimConfigError";
  }
}

/** Validates and fills defaults; throws SimConfigError("tilt.speedMax: must be > 0"). */
export function parseSimConfig(input: unknown): SimConfig {
  const r = SimConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.map(String) ?? [];
    let why = issue?.message ?? "invalid";
    if (issue?.code === "unrecognized_keys") {
      path.push(issue.keys[0] ?? "?");
      why = "unknown field";
    }
    const field = path.length ? path.join(".") : "(config)";
    throw new SimConfigError(`${field}: ${why}`, field);
  }
  const c = r.data;
  const fail = (field: string, why: string): never => {
    throw new SimConfigError(`${field}: ${why}`, field);
  };
  const t = c.tilt;
  if (t.min >= t.max) fail("tilt.min", `must be < tilt.max (${t.max})`);
  if (t.upright < t.min || t.upright > t.max) fail("tilt.upright", `must lie within [tilt.min, tilt.max] = [${t.min}, ${t.max}]`);
  if (t.returnSpeed > t.speedMax) fail("tilt.returnSpeed", `must be <= tilt.speedMax (${t.speedMax})`);
  if (t.reducedSpeed > t.returnSpeed) fail("tilt.reducedSpeed", `must be <= tilt.returnSpeed (${t.returnSpeed})`);
  if (t.approachSpeed > t.returnSpeed) fail("tilt.approachSpeed", `must be <= tilt.returnSpeed (${t.returnSpeed})`);
  if (t.emergencyDecel < t.accelMax) fail("tilt.emergencyDecel", `must be >= tilt.accelMax (${t.accelMax})`);
  // PROTOCOL.md 9.2/9.3: the stop switch and critical faults bring the table to standstill within 0.5 s.
  // The firmware runs once per step, so it may see the cause up to one step late and brakes in what is left.
  const stepS = c.stepMs / 1000;
  const stopDecel = t.speedMax / (STOP_WITHIN_S - stepS);
  if (t.emergencyDecel < stopDecel) {
    fail(
      "tilt.emergencyDecel",
      `must be >= ${Math.ceil(stopDecel * 100) / 100} deg/s² so a stop from speedMax ${t.speedMax} deg/s takes at most ${STOP_WITHIN_S} s ` +
        `(up to one ${c.stepMs} ms step to react, then braking)`,
    );
  }
  if (t.driveAccel < t.emergencyDecel) fail("tilt.driveAccel", `must be >= tilt.emergencyDecel (${t.emergencyDecel})`);
  if (t.pauseAngle < t.upright || t.pauseAngle > t.max) fail("tilt.pauseAngle", "must lie within the hard limits");
  if (t.restAngle < t.pauseAngle || t.restAngle > t.max) fail("tilt.restAngle", `must lie within [tilt.pauseAngle, tilt.max]`);
  if (t.limitMargin < 4 * c.sensors.encoderNoise) {
    fail("tilt.limitMargin", `must be >= 4 x sensors.encoderNoise (${4 * c.sensors.encoderNoise}): the position is only known that well`);
  }
  const tr = c.traction;
  if (tr.returnRate > tr.rateMax) fail("traction.returnRate", `must be <= traction.rateMax (${tr.rateMax})`);
  if (tr.driveRate < tr.rateMax) fail("traction.driveRate", `must be >= traction.rateMax (${tr.rateMax})`);
  // No stop-time check for traction: a stop freezes the force setpoint within the step, with no ramp down.
  if (c.initial.tilt !== undefined && (c.initial.tilt < t.min - t.endStopMargin || c.initial.tilt > t.max + t.endStopMargin)) {
    fail("initial.tilt", "must lie within the mechanical range");
  }
  if (c.initial.force > tr.max) fail("initial.force", `must be <= traction.max (${tr.max})`);
  return c;
}

export function hasTilt(c: SimConfig): boolean {
  return c.model !== "stretcher";
}
export function hasTraction(c: SimConfig): boolean {
  return c.model !== "table";
}
