// Random fault schedules: every injection the simulator offers, plus what a user can do from the
// companion (stop, pause, discomfort), several per session at random virtual times. Every device fault
// has an end (a released switch, a re-engaged lock, a sensor that recovers), so each session has a
// well-defined end state to check: upright, or the documented safe state when a cause never went away.
import type { Rng } from "../../protocol/index.js";
import type { SimDevice } from "../../device-sim/index.js";
import type { SessionHandle } from "../../src/session/run-session.js";
import { int, pick, uniform } from "./random-program.js";

export const FAULT_KINDS = [
  "dropLink",
  "corrupt",
  "latency",
  "sensorBias",
  "sensorDrift",
  "sensorStuck",
  "motorStall",
  "overcurrent",
  "overforce",
  "stopSwitch",
  "switchDisconnected",
  "ankleLock",
  "powerLoss",
  "discomfort",
  "stop",
  "pause",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ScheduledFault {
  kind: FaultKind;
  /** Virtual ms from the session start. */
  at: number;
  /** How long the cause lasts (ms). */
  durationMs: number;
  /** Kind-specific magnitude (deg, deg/s, A, byte error rate, ms of latency). */
  value: number;
  jitter?: number;
  sensor?: "encoder" | "inclinometer";
}

export function randomSchedule(rng: Rng, horizonMs: number): ScheduledFault[] {
  const n = int(rng, 1, 4);
  const out: ScheduledFault[] = [];
  for (let i = 0; i < n; i++) {
    const kind = pick(rng, FAULT_KINDS);
    const at = Math.round(uniform(rng, 200, horizonMs));
    const sensor = pick(rng, ["encoder", "inclinometer"] as const);
    const sign = rng() < 0.5 ? -1 : 1;
    const f: ScheduledFault = { kind, at, durationMs: 0, value: 0 };
    switch (kind) {
      case "dropLink":
        f.durationMs = int(rng, 100, 8000);
        break;
      case "corrupt":
        f.durationMs = int(rng, 500, 20_000);
        f.value = uniform(rng, 0.0005, 0.05);
        break;
      case "latency":
        f.durationMs = int(rng, 500, 20_000);
        f.value = int(rng, 1, 300);
        f.jitter = int(rng, 0, 100);
        break;
      case "sensorBias":
        f.durationMs = int(rng, 500, 30_000);
        f.value = sign * uniform(rng, 0.5, 15);
        f.sensor = sensor;
        break;
      case "sensorDrift":
        f.durationMs = int(rng, 500, 30_000);
        f.value = sign * uniform(rng, 0.1, 3);
        f.sensor = sensor;
        break;
      case "sensorStuck":
        f.durationMs = int(rng, 200, 20_000);
        f.sensor = sensor;
        break;
      case "motorStall":
        f.durationMs = int(rng, 100, 8000);
        break;
      case "overcurrent":
        f.durationMs = int(rng, 20, 3000);
        f.value = uniform(rng, 1, 10);
        break;
      case "overforce":
        // An outside pull on the harness, from harmless to far beyond the force trip.
        f.durationMs = int(rng, 20, 10_000);
        f.value = uniform(rng, 50, 1200);
        break;
      case "stopSwitch":
      case "switchDisconnected":
      case "ankleLock":
        f.durationMs = int(rng, 50, 10_000);
        break;
      case "powerLoss":
        f.durationMs = int(rng, 10, 5000);
        break;
      case "discomfort":
        f.value = int(rng, 0, 2);
        break;
      case "stop":
        break;
      case "pause":
        // Resumed after this long (a pause longer than the session's limit starts the return by itself).
        f.durationMs = int(rng, 200, 40_000);
        break;
    }
    out.push(f);
  }
  return out.sort((a, b) => a.at - b.at);
}

const DISCOMFORT = ["pain", "dizziness", "other"] as const;

/** Sensor faults can hide up to the cross-check threshold from the firmware: the limits checker allows it. */
export function isSensorFault(k: FaultKind): boolean {
  return k === "sensorBias" || k === "sensorDrift" || k === "sensorStuck";
}

/** Puts the schedule on the clock (times relative to `t0`). */
export function applySchedule(schedule: readonly ScheduledFault[], t0: number, device: SimDevice, session: SessionHandle, clock: { setTimeout(fn: () => void, ms: number): unknown; now(): number }): void {
  const inj = device.inject;
  for (const f of schedule) {
    const at = t0 + f.at;
    const span = { at, durationMs: f.durationMs };
    switch (f.kind) {
      case "dropLink":
        inj.dropLink(f.durationMs, { at });
        break;
      case "corrupt":
        inj.corrupt(f.value, span);
        break;
      case "latency":
        inj.latency(f.value, f.jitter ?? 0, span);
        break;
      case "sensorBias":
        inj.sensorBias(f.sensor ?? "encoder", f.value, span);
        break;
      case "sensorDrift":
        inj.sensorDrift(f.sensor ?? "encoder", f.value, span);
        break;
      case "sensorStuck":
        inj.sensorStuck(f.sensor ?? "encoder", span);
        break;
      case "motorStall":
        inj.motorStall(span);
        break;
      case "overcurrent":
        inj.overcurrent(f.value, span);
        break;
      case "overforce":
        inj.externalForce(f.value, span);
        break;
      case "stopSwitch":
        inj.pressStopSwitch(span);
        break;
      case "switchDisconnected":
        inj.stopSwitch("disconnected", { at });
        inj.stopSwitch("ok", { at: at + f.durationMs });
        break;
      case "ankleLock":
        inj.ankleLock(false, { at });
        inj.ankleLock(true, { at: at + f.durationMs });
        break;
      case "powerLoss":
        inj.powerLoss(f.durationMs, { at });
        break;
      case "discomfort":
        clock.setTimeout(() => session.discomfort(DISCOMFORT[f.value] ?? "other"), at - clock.now());
        break;
      case "stop":
        clock.setTimeout(() => session.stop(), at - clock.now());
        break;
      case "pause":
        clock.setTimeout(() => session.pause(), at - clock.now());
        clock.setTimeout(() => session.resume(), at + f.durationMs - clock.now());
        break;
    }
  }
}

/** When the last device-side cause is gone (ms from the session start). */
export function lastCauseEnds(schedule: readonly ScheduledFault[]): number {
  return schedule.reduce((m, f) => Math.max(m, f.at + f.durationMs), 0);
}
