// Fault injection for tests and `invert sim` flags. Every fault can be applied now or scheduled at an
// absolute virtual time (`at`, in clock ms); faults with a duration undo themselves.
import type { Clock, SwitchStateT } from "../../protocol/index.js";
import type { AngleSensor } from "../physics/sensors.js";
import type { Plant } from "../physics/plant.js";
import type { LinkFaultControl } from "../transport/faulty-transport.js";

export interface When {
  /** Absolute clock time in ms; omitted or in the past = now. */
  at?: number;
}
export interface ForDuration extends When {
  /** Undo after this many ms; omitted = until changed again. */
  durationMs?: number;
}

export interface FaultInjector {
  /** Cuts the link in both directions for `durationMs`. */
  dropLink(durationMs: number, when?: When): void;
  /** Probability of each byte being replaced; frames with a bad byte fail their CRC and count in rxErr. */
  corrupt(rate: number, when?: ForDuration): void;
  latency(ms: number, jitterMs?: number, when?: ForDuration): void;
  sensorBias(sensor: AngleSensor, deg: number, when?: ForDuration): void;
  sensorDrift(sensor: AngleSensor, degPerS: number, when?: ForDuration): void;
  sensorStuck(sensor: AngleSensor, when?: ForDuration): void;
  motorStall(when?: ForDuration): void;
  /** Adds `extraA` amps to the motor current. */
  overcurrent(extraA: number, when?: ForDuration): void;
  /** Adds an outside pull of `extraN` newtons on the traction harness (seen by the load cell). */
  externalForce(extraN: number, when?: ForDuration): void;
  stopSwitch(state: SwitchStateT, when?: When): void;
  pressStopSwitch(when?: ForDuration): void;
  ankleLock(engaged: boolean, when?: When): void;
  /** Power off for `offMs`, then the firmware reboots with a new boot id (RAM state lost). */
  powerLoss(offMs: number, when?: When): void;
}

export interface InjectorTargets {
  clock: Clock;
  plant: () => Plant;
  link: LinkFaultControl;
  powerLoss(offMs: number): void;
}

export function createFaultInjector(t: InjectorTargets): FaultInjector {
  const { clock } = t;
  const at = (when: When | undefined, fn: () => void): void => {
    const delay = when?.at === undefined ? 0 : when.at - clock.now();
    if (delay <= 0) fn();
    else clock.setTimeout(fn, delay);
  };
  const span = (when: ForDuration | undefined, on: () => void, off: () => void): void => {
    at(when, () => {
      on();
      if (when?.durationMs !== undefined) clock.setTimeout(off, when.durationMs);
    });
  };
  const positive = (name: string, v: number): void => {
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${name}: must be a number >= 0`);
  };
  return {
    dropLink(durationMs, when) {
      positive("durationMs", durationMs);
      at(when, () => t.link.dropFor(durationMs));
    },
    corrupt(rate, when) {
      if (!(rate >= 0 && rate <= 1)) throw new RangeError("corrupt rate: must be within [0, 1]");
      span(when, () => (t.link.faults.corruptRate = rate), () => (t.link.faults.corruptRate = 0));
    },
    latency(ms, jitterMs = 0, when) {
      positive("latency", ms);
      positive("jitter", jitterMs);
      span(
        when,
        () => {
          t.link.faults.latencyMs = ms;
          t.link.faults.jitterMs = jitterMs;
        },
        () => {
          t.link.faults.latencyMs = 0;
          t.link.faults.jitterMs = 0;
        },
      );
    },
    sensorBias(sensor, deg, when) {
      span(when, () => t.plant().sensors.setBias(sensor, deg), () => t.plant().sensors.setBias(sensor, 0));
    },
    sensorDrift(sensor, degPerS, when) {
      span(when, () => t.plant().sensors.setDrift(sensor, degPerS, clock.now()), () => t.plant().sensors.clear(sensor));
    },
    sensorStuck(sensor, when) {
      span(when, () => t.plant().sensors.setStuck(sensor, true), () => t.plant().sensors.setStuck(sensor, false));
    },
    motorStall(when) {
      span(when, () => (t.plant().stalled = true), () => (t.plant().stalled = false));
    },
    overcurrent(extraA, when) {
      positive("overcurrent", extraA);
      span(when, () => (t.plant().extraCurrentA = extraA), () => (t.plant().extraCurrentA = 0));
    },
    externalForce(extraN, when) {
      positive("externalForce", extraN);
      span(when, () => (t.plant().extraForceN = extraN), () => (t.plant().extraForceN = 0));
    },
    stopSwitch(state, when) {
      at(when, () => (t.plant().sw = state));
    },
    pressStopSwitch(when) {
      span(when, () => (t.plant().sw = "pressed"), () => (t.plant().sw = "ok"));
    },
    ankleLock(engaged, when) {
      at(when, () => (t.plant().lock = engaged));
    },
    powerLoss(offMs, when) {
      positive("offMs", offMs);
      at(when, () => t.powerLoss(offMs));
    },
  };
}
