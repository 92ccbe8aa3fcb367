// Angle sensors: the motor encoder (fine, small noise) and the inclinometer (absolute, noisier, a small
// mounting bias), each with injectable bias, drift and stuck faults. The load cell reads force with noise.
import { gaussian, type Rng } from "./noise.js";

export type AngleSensor = "encoder" | "inclinometer";

export interface SensorFault {
  bias: number;
  /** deg/s, accumulated from driftFrom. */
  driftPerS: number;
  driftFrom: number;
  /** While set, the sensor keeps reporting this value. */
  stuckAt?: number;
  stuck: boolean;
}

function noFault(): SensorFault {
  return { bias: 0, driftPerS: 0, driftFrom: 0, stuck: false };
}

export interface SensorParams {
  encoderNoise: number;
  encoderBias: number;
  inclinometerNoise: number;
  inclinometerBias: number;
  loadCellNoise: number;
}

export class AngleSensors {
  readonly fault: Record<AngleSensor, SensorFault> = { encoder: noFault(), inclinometer: noFault() };

  constructor(
    private readonly p: SensorParams,
    private readonly rng: Rng,
  ) {}

  read(truth: number, nowMs: number): { encoder: number; inclinometer: number } {
    const enc = truth + this.p.encoderBias + this.p.encoderNoise * gaussian(this.rng);
    const inc = truth + this.p.inclinometerBias + this.p.inclinometerNoise * gaussian(this.rng);
    return { encoder: this.apply("encoder", enc, nowMs), inclinometer: this.apply("inclinometer", inc, nowMs) };
  }

  readLoadCell(force: number): number {
    return force + this.p.loadCellNoise * gaussian(this.rng);
  }

  setBias(s: AngleSensor, deg: number): void {
    this.fault[s].bias = deg;
  }
  setDrift(s: AngleSensor, degPerS: number, nowMs: number): void {
    const f = this.fault[s];
    // Keep the drift accumulated so far as bias, so changing the rate never makes the reading jump.
    f.bias += (f.driftPerS * (nowMs - f.driftFrom)) / 1000;
    f.driftPerS = degPerS;
    f.driftFrom = nowMs;
  }
  setStuck(s: AngleSensor, stuck: boolean): void {
    const f = this.fault[s];
    f.stuck = stuck;
    if (!stuck) f.stuckAt = undefined;
  }
  clear(s: AngleSensor): void {
    this.fault[s] = noFault();
  }

  private apply(s: AngleSensor, raw: number, nowMs: number): number {
    const f = this.fault[s];
    const v = raw + f.bias + (f.driftPerS * (nowMs - f.driftFrom)) / 1000;
    if (f.stuck) {
      if (f.stuckAt === undefined) f.stuckAt = v;
      return f.stuckAt;
    }
    return v;
  }
}
