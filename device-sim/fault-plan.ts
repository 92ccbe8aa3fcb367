// Fault schedules for the standalone simulator, parsed from `invert sim` flags. Times are seconds from
// the start of the run; every parse error is one line naming the flag and the expected form.
import type { FaultInjector } from "./faults/injector.js";
import type { AngleSensor } from "./physics/sensors.js";

export interface FaultPlan {
  dropLink: { atS: number; durationS: number }[];
  corrupt?: number;
  latency?: { ms: number; jitterMs: number };
  sensorBias?: { deg: number; atS: number; sensor: AngleSensor };
  sensorDrift?: { degPerS: number; atS: number; sensor: AngleSensor };
  sensorStuck?: { atS: number; sensor: AngleSensor };
  stall?: { atS: number; durationS?: number };
  overcurrent?: { atS: number; durationS?: number };
  overforce?: { atS: number; durationS?: number };
  stopSwitch?: { atS: number; releaseAfterS?: number };
  ankleOpen?: { atS: number; closeAfterS?: number };
  powerLoss?: { atS: number; offS: number };
}

export class FlagError extends Error {
  override name = "FlagError";
}

function num(flag: string, form: string, text: string | undefined, min = 0): number {
  const v = text === undefined || text.trim() === "" ? NaN : Number(text);
  if (!Number.isFinite(v) || v < min) throw new FlagError(`${flag}: expected ${form}, got "${text ?? ""}"`);
  return v;
}

function parts(flag: string, form: string, value: string, min: number, max: number): string[] {
  const p = value.split(":");
  if (p.length < min || p.length > max) throw new FlagError(`${flag}: expected ${form}, got "${value}"`);
  return p;
}

/** `AT:DURATION` in seconds. */
export function parseDropLink(value: string): { atS: number; durationS: number } {
  const f = "--drop-link";
  const form = "AT:DURATION in seconds (e.g. 10:3)";
  const [a, d] = parts(f, form, value, 2, 2);
  return { atS: num(f, form, a), durationS: num(f, form, d) };
}

export function parseCorrupt(value: string): number {
  const v = num("--corrupt", "a byte corruption rate within [0, 1]", value);
  if (v > 1) throw new FlagError(`--corrupt: expected a byte corruption rate within [0, 1], got "${value}"`);
  return v;
}

/** `MS[:JITTER]`. */
export function parseLatency(value: string): { ms: number; jitterMs: number } {
  const f = "--latency";
  const form = "MS[:JITTER] in milliseconds";
  const [m, j] = parts(f, form, value, 1, 2);
  return { ms: num(f, form, m), jitterMs: j === undefined ? 0 : num(f, form, j) };
}

function sensorOf(flag: string, s: string | undefined): AngleSensor {
  if (s === undefined || s === "inclinometer" || s === "incl") return "inclinometer";
  if (s === "encoder" || s === "enc") return "encoder";
  throw new FlagError(`${flag}: sensor must be encoder or inclinometer, got "${s}"`);
}

/** `DEG[:AT[:SENSOR]]`: a bias on the inclinometer (default) from AT seconds. */
export function parseSensorBias(value: string): { deg: number; atS: number; sensor: AngleSensor } {
  const f = "--sensor-bias";
  const form = "DEG[:AT[:encoder|inclinometer]]";
  const [d, a, s] = parts(f, form, value, 1, 3);
  return { deg: num(f, form, d, -180), atS: a === undefined ? 0 : num(f, form, a), sensor: sensorOf(f, s) };
}

export function parseSensorDrift(value: string): { degPerS: number; atS: number; sensor: AngleSensor } {
  const f = "--sensor-drift";
  const form = "DEG_PER_S[:AT[:encoder|inclinometer]]";
  const [d, a, s] = parts(f, form, value, 1, 3);
  return { degPerS: num(f, form, d, -90), atS: a === undefined ? 0 : num(f, form, a), sensor: sensorOf(f, s) };
}

export function parseSensorStuck(value: string): { atS: number; sensor: AngleSensor } {
  const f = "--sensor-stuck";
  const form = "AT[:encoder|inclinometer]";
  const [a, s] = parts(f, form, value, 1, 2);
  return { atS: num(f, form, a), sensor: sensorOf(f, s) };
}

/** `AT[:DURATION]` (seconds): used by --stall-at, --overcurrent-at, --overforce-at, --stop-switch-at, --ankle-open-at. */
export function parseAtFor(flag: string, value: string): { atS: number; durationS?: number } {
  const form = "AT[:DURATION] in seconds";
  const [a, d] = parts(flag, form, value, 1, 2);
  return { atS: num(flag, form, a), ...(d === undefined ? {} : { durationS: num(flag, form, d) }) };
}

/** `AT:OFF` (seconds). */
export function parsePowerLoss(value: string): { atS: number; offS: number } {
  const f = "--power-loss-at";
  const form = "AT:OFF in seconds (e.g. 30:5)";
  const [a, o] = parts(f, form, value, 2, 2);
  return { atS: num(f, form, a), offS: num(f, form, o) };
}

/** Schedules a plan on a device's injector; times are relative to `startMs` on the device's clock. */
/** The outside pull `--overforce-at` applies: above the force trip even with the drive at rest. */
export const OVERFORCE_PULL_N = 1000;

export function applyFaultPlan(inject: FaultInjector, plan: FaultPlan, startMs: number): void {
  const at = (s: number) => ({ at: startMs + s * 1000 });
  const dur = (s: number, d?: number) => ({ at: startMs + s * 1000, ...(d === undefined ? {} : { durationMs: d * 1000 }) });
  for (const d of plan.dropLink) inject.dropLink(d.durationS * 1000, at(d.atS));
  if (plan.corrupt !== undefined) inject.corrupt(plan.corrupt);
  if (plan.latency) inject.latency(plan.latency.ms, plan.latency.jitterMs);
  if (plan.sensorBias) inject.sensorBias(plan.sensorBias.sensor, plan.sensorBias.deg, at(plan.sensorBias.atS));
  if (plan.sensorDrift) inject.sensorDrift(plan.sensorDrift.sensor, plan.sensorDrift.degPerS, at(plan.sensorDrift.atS));
  if (plan.sensorStuck) inject.sensorStuck(plan.sensorStuck.sensor, at(plan.sensorStuck.atS));
  if (plan.stall) inject.motorStall(dur(plan.stall.atS, plan.stall.durationS));
  if (plan.overcurrent) inject.overcurrent(10, dur(plan.overcurrent.atS, plan.overcurrent.durationS));
  if (plan.overforce) inject.externalForce(OVERFORCE_PULL_N, dur(plan.overforce.atS, plan.overforce.durationS));
  if (plan.stopSwitch) inject.pressStopSwitch(dur(plan.stopSwitch.atS, plan.stopSwitch.releaseAfterS));
  if (plan.ankleOpen) {
    inject.ankleLock(false, at(plan.ankleOpen.atS));
    if (plan.ankleOpen.closeAfterS !== undefined) inject.ankleLock(true, at(plan.ankleOpen.atS + plan.ankleOpen.closeAfterS));
  }
  if (plan.powerLoss) inject.powerLoss(plan.powerLoss.offS * 1000, at(plan.powerLoss.atS));
}
