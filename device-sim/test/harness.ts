// Test harness: an embedded simulator on a VirtualClock, a minimal companion speaking only the protocol
// module, and ground-truth invariant checks on every physics step.
import {
  Sequencer,
  VirtualClock,
  type AckMsg,
  type AnyMsg,
  type CapsMsg,
  type CompanionMsg,
  type EventMsg,
  type MessageTransport,
  type Outgoing,
  type TelemetryMsg,
  type TimerHandle,
} from "../../protocol/index.js";
import { createEmbeddedSim, type SimDevice, type SimTruth } from "../index.js";

export class Client {
  readonly seq = new Sequencer();
  readonly acks: AckMsg[] = [];
  readonly events: EventMsg[] = [];
  readonly tlm: TelemetryMsg[] = [];
  readonly caps: CapsMsg[] = [];
  private hb?: TimerHandle;
  private n = 0;

  constructor(
    readonly t: MessageTransport,
    readonly clock: VirtualClock,
  ) {
    t.setHandlers({
      onMessage: (m: AnyMsg) => {
        if (m.type === "ack") this.acks.push(m);
        else if (m.type === "evt") this.events.push(m);
        else if (m.type === "tlm") this.tlm.push(m);
        else if (m.type === "caps") this.caps.push(m);
      },
    });
  }

  send(m: Outgoing<CompanionMsg>): void {
    this.t.send(this.seq.stamp(m));
  }

  id(): string {
    return `c${++this.n}`;
  }

  move(target: number, speed: number, id = this.id()): string {
    this.send({ type: "move", id, axis: "tilt", target, speed });
    return id;
  }

  /** Sends heartbeats every `ms` until stopHeartbeat (as a live companion does). */
  heartbeat(ms = 200): void {
    this.stopHeartbeat();
    this.hb = this.clock.setInterval(() => this.send({ type: "hb" }), ms);
  }
  stopHeartbeat(): void {
    this.clock.clearInterval(this.hb);
    this.hb = undefined;
  }

  acksFor(id: string): string[] {
    return this.acks.filter((a) => a.id === id).map((a) => a.result);
  }
  lastAck(id: string): AckMsg | undefined {
    return this.acks.filter((a) => a.id === id).at(-1);
  }
  hasEvent(code: string): boolean {
    return this.events.some((e) => e.code === code);
  }
}

export interface Rig {
  clock: VirtualClock;
  device: SimDevice;
  client: Client;
  inv: Invariants;
  /** Runs until `cond` holds; fails the test if it does not within maxMs of virtual time. */
  until(cond: () => boolean, maxMs: number, what: string): void;
  truth(): SimTruth;
}

export function rig(config: unknown = {}, seed = 7): Rig {
  const clock = new VirtualClock();
  const { device, companion } = createEmbeddedSim({ clock, config, seed });
  const client = new Client(companion, clock);
  const inv = new Invariants(device);
  return {
    clock,
    device,
    client,
    inv,
    truth: () => device.truth(),
    until(cond, maxMs, what) {
      if (!clock.runUntil(cond, maxMs)) throw new Error(`timed out after ${maxMs} ms of virtual time waiting for ${what}`);
    },
  };
}

/** Connects: hello, waits for caps, starts heartbeats. */
export function connect(r: Rig): CapsMsg {
  r.clock.advance(20);
  const before = r.client.caps.length;
  r.client.send({ type: "hello", client: "test", proto: [1] });
  r.until(() => r.client.caps.length > before, 100, "caps");
  r.client.heartbeat();
  return r.client.caps.at(-1)!;
}

/**
 * Ground-truth checks on every physics step: inside the hard limits, never faster than speedMax, never
 * harder than the emergency deceleration (except while the drive is stalled or unpowered, where the
 * mechanics stop it), force within its rate. Violations are collected with the time they happened.
 */
export class Invariants {
  readonly violations: string[] = [];
  maxSpeed = 0;
  maxAccel = 0;
  maxForceRate = 0;
  /** Widest tilt excursion seen. */
  minTilt = Infinity;
  maxTilt = -Infinity;
  samples: SimTruth[] = [];
  private excuseSteps = 0;
  keepSamples = true;

  constructor(private readonly device: SimDevice) {
    const c = device.config;
    device.onStep((s) => {
      if (this.keepSamples) this.samples.push(s);
      // A stalled or unpowered drive stops dead, and restarts at its own mechanical rate when freed:
      // that is physics, not firmware, so acceleration is not judged for a moment around those events.
      if (!s.poweredOn || s.stalled) this.excuseSteps = 50;
      const excused = this.excuseSteps > 0;
      if (excused) this.excuseSteps--;
      this.minTilt = Math.min(this.minTilt, s.tilt);
      this.maxTilt = Math.max(this.maxTilt, s.tilt);
      if (c.model !== "stretcher") {
        if (s.tilt < c.tilt.min - 1e-6 || s.tilt > c.tilt.max + 1e-6) this.fail(s, `tilt ${s.tilt} outside [${c.tilt.min}, ${c.tilt.max}]`);
        if (Math.abs(s.vel) > c.tilt.speedMax + 1e-6) this.fail(s, `speed ${s.vel} > ${c.tilt.speedMax}`);
        this.maxSpeed = Math.max(this.maxSpeed, Math.abs(s.vel));
        if (!excused) {
          this.maxAccel = Math.max(this.maxAccel, Math.abs(s.accel));
          if (Math.abs(s.accel) > c.tilt.emergencyDecel + 1e-6) this.fail(s, `accel ${s.accel} > ${c.tilt.emergencyDecel}`);
        }
        if (s.endStopHits > 0) this.fail(s, "reached a mechanical end stop");
      }
      if (c.model !== "table") {
        this.maxForceRate = Math.max(this.maxForceRate, Math.abs(s.forceRate));
        if (s.force > c.traction.max + 1e-6) this.fail(s, `force ${s.force} > ${c.traction.max}`);
        if (Math.abs(s.forceRate) > c.traction.rateMax + 1e-6) this.fail(s, `force rate ${s.forceRate} > ${c.traction.rateMax}`);
      }
    });
  }

  private fail(s: SimTruth, msg: string): void {
    if (this.violations.length < 20) this.violations.push(`t=${s.t}: ${msg}`);
  }

  /** Samples between two times (inclusive). */
  between(t0: number, t1: number): SimTruth[] {
    return this.samples.filter((s) => s.t >= t0 && s.t <= t1);
  }
}

/** Moves and waits for the move's `done`. */
export function moveTo(r: Rig, target: number, speed = 10): void {
  const id = r.client.move(target, speed);
  r.until(() => r.client.acksFor(id).includes("done"), 120_000, `move to ${target}`);
}

/** Waits for an event code; returns the virtual time it was seen. */
export function untilEvent(r: Rig, code: string, maxMs = 10_000): number {
  r.until(() => r.client.hasEvent(code), maxMs, code);
  return r.clock.now();
}

/** Sends `clear` for a fault code; returns its ack. */
export function clearFault(r: Rig, code: string): { result: string; reason?: string } {
  const id = r.client.id();
  r.client.send({ type: "clear", id, code });
  return r.client.lastAck(id)!;
}

/** Ramps traction to `target` N at `rate` N/s and waits for `done`. */
export function holdForce(r: Rig, target: number, rate = 50): void {
  const id = r.client.id();
  r.client.send({ type: "force", id, axis: "traction", target, rate });
  r.until(() => r.client.acksFor(id).includes("done"), 60_000, "force");
}
