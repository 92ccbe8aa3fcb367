// One simulated device: the physics plant and the firmware stepped in lockstep on one clock, talking
// through any MessageTransport. The firmware instance lives only while powered: a power loss throws its
// RAM state away and a reboot starts a fresh one with a new boot id (what it keeps in non-volatile memory,
// see firmware/nvm.ts, survives).
import {
  COMPANION_TYPES,
  FramedStreamTransport,
  InprocLink,
  Sequencer,
  mulberry32,
  type CompanionMsg,
  type Clock,
  type DeviceModeT,
  type DeviceMsg,
  type EventMsg,
  type MessageTransport,
  type Outgoing,
  type SwitchStateT,
  type TelemetryMsg,
  type TimerHandle,
} from "../protocol/index.js";
import { parseSimConfig, type SimConfig } from "./config.js";
import { createFaultInjector, type FaultInjector } from "./faults/injector.js";
import { Firmware, type ResetCause } from "./firmware/firmware.js";
import { blankNvm } from "./firmware/nvm.js";
import type { ReturnPhase } from "./firmware/return-plan.js";
import { Plant } from "./physics/plant.js";
import { FaultyTransport, type LinkFaultControl } from "./transport/faulty-transport.js";

/** Physical ground truth, for invariant checks (what no companion can see). */
export interface SimTruth {
  /** Clock ms. */
  t: number;
  tilt: number;
  /** deg/s and deg/s^2 of the actual drive. */
  vel: number;
  accel: number;
  force: number;
  /** N/s of the actual traction drive. */
  forceRate: number;
  current: number;
  mode: DeviceModeT;
  faults: string[];
  ret?: ReturnPhase;
  lock: boolean;
  sw: SwitchStateT;
  poweredOn: boolean;
  stalled: boolean;
  /** Steps that ended against a mechanical end stop so far. */
  endStopHits: number;
  /** The firmware's tilt setpoint (absent while unpowered). */
  setpoint?: number;
}

export interface SimDevice {
  readonly config: SimConfig;
  readonly inject: FaultInjector;
  truth(): SimTruth;
  onStep(cb: (truth: SimTruth) => void): () => void;
  onEvent(cb: (evt: EventMsg) => void): () => void;
  onTelemetry(cb: (tlm: TelemetryMsg) => void): () => void;
  /** Commands acted on (duplicate ids and rejected commands excluded), for "never twice" checks. */
  actedCommands(): number;
  /** Boots so far (1 after power-up, +1 per power-loss reboot). */
  readonly boots: number;
  stop(): void;
}

export interface SimDeviceOptions {
  clock: Clock;
  transport: MessageTransport;
  config?: unknown;
  seed?: number;
  /** Link fault control when the transport runs over an InprocLink; otherwise the device wraps its transport. */
  link?: LinkFaultControl;
  /** The transport closed underneath the device (port unplugged, broker gone for good). */
  onTransportClose?: (error?: Error) => void;
}

function listeners<T>() {
  const set = new Set<(v: T) => void>();
  return {
    get size(): number {
      return set.size;
    },
    add(cb: (v: T) => void): () => void {
      set.add(cb);
      return () => set.delete(cb);
    },
    emit(v: T): void {
      for (const cb of set) cb(v);
    },
  };
}

const COMPANION = new Set<string>(COMPANION_TYPES);
const MAX_CATCHUP_STEPS = 2000;

export function createSimDevice(opts: SimDeviceOptions): SimDevice {
  const { clock } = opts;
  const config = parseSimConfig(opts.config);
  const seed = opts.seed ?? 1;
  const rng = mulberry32(seed);
  const plant = new Plant(config, rng);
  let transport = opts.transport;
  let link = opts.link;
  if (!link) {
    const ft = new FaultyTransport(opts.transport, clock, mulberry32(seed ^ 0x5bd1e995));
    transport = ft;
    link = ft;
  }
  const steps = listeners<SimTruth>();
  const events = listeners<EventMsg>();
  const tlms = listeners<TelemetryMsg>();
  const timers = new Set<TimerHandle>();
  let fw: Firmware | undefined;
  // Survives power loss, like the controller's EEPROM.
  const nvm = blankNvm();
  let seq = new Sequencer();
  let boots = 0;
  let actedBefore = 0;
  let rxErrBase = 0;
  let stopped = false;
  const dt = config.stepMs / 1000;
  const tlmPeriod = 1000 / config.tlmHz;
  let nextTlm = 0;

  const rxErrTotal = (): number => Object.values(transport.stats.drops).reduce((a, b) => a + b, 0);

  const out = (m: Outgoing<DeviceMsg>): void => {
    if (!plant.poweredOn || stopped) return;
    const msg = seq.stamp(m);
    transport.send(msg);
    if (msg.type === "evt") events.emit(msg);
    else if (msg.type === "tlm") tlms.emit(msg);
  };

  const later = (fn: () => void, ms: number): void => {
    const h = clock.setTimeout(() => {
      timers.delete(h);
      fn();
    }, ms);
    timers.add(h);
  };

  const boot = (cause: ResetCause): void => {
    boots++;
    seq = new Sequencer();
    rxErrBase = rxErrTotal();
    const now = clock.now();
    const bootId = `b${boots}-${Math.floor(rng() * 0xffffff).toString(16).padStart(6, "0")}`;
    fw = new Firmware(config, out, { now, bootId, cause, sample: () => plant.read(now), rxErr: () => rxErrTotal() - rxErrBase, nvm });
    nextTlm = now + tlmPeriod;
  };

  transport.setHandlers({
    onMessage: (m) => {
      if (!fw || !plant.poweredOn || stopped || !COMPANION.has(m.type)) return;
      fw.onMessage(m as CompanionMsg, clock.now());
    },
    onClose: (e) => opts.onTransportClose?.(e),
  });

  const truth = (at?: number): SimTruth => {
    const v = fw?.view();
    return {
      t: at ?? clock.now(),
      tilt: plant.tilt.pos,
      vel: plant.tilt.vel,
      accel: plant.tilt.accel,
      force: plant.traction.force,
      forceRate: plant.traction.rate,
      current: plant.current,
      mode: v?.mode ?? "idle",
      faults: v?.faults ?? [],
      ...(v?.ret ? { ret: v.ret } : {}),
      lock: plant.lock,
      sw: plant.sw,
      poweredOn: plant.poweredOn,
      stalled: plant.stalled,
      endStopHits: plant.tilt.endStopHits,
      ...(v ? { setpoint: v.setpoint.p } : {}),
    };
  };

  const stepAt = (now: number): void => {
    if (fw && plant.poweredOn) {
      const cmd = fw.step(now, plant.read(now));
      plant.step(dt, cmd);
      if (now >= nextTlm) {
        nextTlm += tlmPeriod;
        if (nextTlm <= now) nextTlm = now + tlmPeriod;
        fw.telemetry(now, plant.read(now));
      }
    } else plant.step(dt, { tiltVel: 0, force: plant.traction.force });
    if (steps.size) steps.emit(truth(now));
  };

  // On a virtual clock the interval fires exactly once per step (lockstep). On a sped-up real clock the
  // host's timers cannot fire every 10/speed ms, so each firing runs every step that is due.
  let lastStep = clock.now();
  const tick = (): void => {
    const now = clock.now();
    let n = 0;
    while (lastStep + config.stepMs <= now + 1e-6 && n < MAX_CATCHUP_STEPS) {
      lastStep += config.stepMs;
      stepAt(lastStep);
      n++;
    }
    // Hopelessly behind (a paused process): skip the lost time rather than replay it.
    if (n === MAX_CATCHUP_STEPS) lastStep = now;
  };

  const stepTimer = clock.setInterval(tick, config.stepMs);
  // Boot on the next tick of the clock, so listeners attached right after creation see caps and BOOT.
  later(() => boot("power_on"), 0);

  const inject = createFaultInjector({
    clock,
    plant: () => plant,
    link,
    powerLoss(offMs) {
      if (!plant.poweredOn) return;
      actedBefore += fw?.acted ?? 0;
      fw?.powerFail();
      plant.poweredOn = false;
      fw = undefined;
      later(() => {
        plant.poweredOn = true;
        boot("power_loss");
      }, offMs);
    },
  });

  return {
    config,
    inject,
    truth: () => truth(),
    onStep: steps.add,
    onEvent: events.add,
    onTelemetry: tlms.add,
    actedCommands: () => actedBefore + (fw?.acted ?? 0),
    get boots() {
      return boots;
    },
    stop() {
      stopped = true;
      clock.clearInterval(stepTimer);
      for (const h of timers) clock.clearTimeout(h);
      timers.clear();
    },
  };
}

/** Device + in-process link + the companion-side transport, all on one clock. */
export function createEmbeddedSim(opts: { clock: Clock; config?: unknown; seed?: number }): {
  device: SimDevice;
  companion: MessageTransport;
  link: InprocLink;
} {
  const link = new InprocLink(opts.clock, mulberry32((opts.seed ?? 1) ^ 0x9e3779b9));
  const companion = new FramedStreamTransport(link.a, "companion");
  const deviceSide = new FramedStreamTransport(link.b, "device");
  const device = createSimDevice({ clock: opts.clock, transport: deviceSide, config: opts.config, seed: opts.seed, link });
  return { device, companion, link };
}
