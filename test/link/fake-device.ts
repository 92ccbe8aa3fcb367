// A scriptable device end for link-layer tests: real framing over an in-process pipe, but the test decides
// what the device answers (or does not), so retries, refusals and garbage can be provoked exactly.
import {
  FramedStreamTransport,
  InprocLink,
  Sequencer,
  type AnyMsg,
  type CapsMsg,
  type CompanionMsg,
  type Outgoing,
  type TelemetryMsg,
  type VirtualClock,
} from "../../protocol/index.js";

export function fakeCaps(over: Partial<Outgoing<CapsMsg>> = {}): Outgoing<CapsMsg> {
  return {
    type: "caps",
    model: "fake",
    serial: "F1",
    fw: "0.0.1",
    proto: 1,
    axes: { tilt: { min: -80, max: 90, upright: -80, speedMax: 10, returnSpeed: 4 } },
    watchdogMs: 1000,
    tlmHz: 10,
    boot: "b1",
    ...over,
  };
}

export class FakeDevice {
  readonly pipe: InprocLink;
  readonly companionSide: FramedStreamTransport;
  private readonly dev: FramedStreamTransport;
  private readonly seq = new Sequencer();
  readonly received: CompanionMsg[] = [];
  /** Return true to swallow a message without any reply. */
  ignore: (m: CompanionMsg) => boolean = () => false;
  caps: Outgoing<CapsMsg> | null = fakeCaps();
  tlmTimer: { id: number } | undefined;

  constructor(readonly clock: VirtualClock) {
    this.pipe = new InprocLink(clock);
    this.companionSide = new FramedStreamTransport(this.pipe.a, "companion");
    this.dev = new FramedStreamTransport(this.pipe.b, "device");
    this.dev.setHandlers({ onMessage: (m) => this.onMessage(m as CompanionMsg) });
  }

  private onMessage(m: CompanionMsg): void {
    this.received.push(m);
    if (this.ignore(m)) return;
    if (m.type === "hello") {
      if (this.caps) this.send(this.caps);
    } else if (m.type !== "hb") {
      this.send({ type: "ack", id: m.id, result: "accepted" });
    }
  }

  send(out: Outgoing): void {
    this.dev.send(this.seq.stamp(out));
  }

  /** Sends an already complete message (e.g. with a foreign protocol version). */
  sendRaw(msg: object): void {
    this.dev.send(msg as AnyMsg);
  }

  /** Raw bytes onto the line, as noise would put them there. */
  garbage(bytes: string | Uint8Array): void {
    this.pipe.b.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  startTelemetry(over: Partial<TelemetryMsg> = {}): void {
    this.tlmTimer = this.clock.setInterval(() => {
      this.send({ type: "tlm", t: this.clock.now(), tilt: -80, tilt2: -80, vel: 0, current: 0, lock: true, sw: "ok", mode: "idle", faults: [], rxErr: 0, ...over });
    }, 100);
  }

  stopTelemetry(): void {
    this.clock.clearInterval(this.tlmTimer);
  }

  of<T extends CompanionMsg["type"]>(type: T): Extract<CompanionMsg, { type: T }>[] {
    return this.received.filter((m): m is Extract<CompanionMsg, { type: T }> => m.type === type);
  }
}
