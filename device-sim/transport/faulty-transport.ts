// Link faults for transports that are not in-process (serial, MQTT): wraps the device's MessageTransport
// and applies the same faults an InprocLink applies to bytes: cut for a while, byte corruption (the
// frame is re-encoded, corrupted and decoded again, so the CRC check drops it exactly as on a wire),
// latency and jitter with order preserved.
import {
  ACCEPTS,
  FrameReader,
  Outages,
  emptyDropCounters,
  encodeFrame,
  type AnyMsg,
  type Clock,
  type DropCounters,
  type DropReason,
  type LinkFaults,
  type MessageTransport,
  type Rng,
  type Role,
  type TransportHandlers,
  type TransportStats,
} from "../../protocol/index.js";

/** What the fault injector needs from a link: InprocLink and FaultyTransport both provide it. */
export interface LinkFaultControl {
  readonly faults: LinkFaults;
  dropFor(ms: number): void;
}

export class FaultyTransport implements MessageTransport, LinkFaultControl {
  readonly faults: LinkFaults = { corruptRate: 0, latencyMs: 0, jitterMs: 0, down: false };
  private handlers: TransportHandlers = { onMessage: () => {} };
  private readonly drops: DropCounters = emptyDropCounters();
  private lastIn = 0;
  private lastOut = 0;
  private readonly outages: Outages;

  constructor(
    private readonly inner: MessageTransport,
    private readonly clock: Clock,
    private readonly rng: Rng,
    private readonly role: Role = "device",
  ) {
    this.outages = new Outages(clock, this.faults);
    inner.setHandlers({
      onMessage: (m) => this.incoming(m),
      onDrop: (r, d) => this.handlers.onDrop?.(r, d),
      onClose: (e) => this.handlers.onClose?.(e),
    });
  }

  dropFor(ms: number): void {
    this.outages.cut(ms);
  }

  setHandlers(h: TransportHandlers): void {
    this.handlers = h;
  }

  send(msg: AnyMsg): void {
    if (this.faults.down) return;
    const m = this.corrupt(msg, this.role === "device" ? "companion" : "device");
    if (!m) return;
    // Bytes still on their way when the link goes down are lost with it, as on an InprocLink.
    this.later("out", () => {
      if (!this.faults.down) this.inner.send(m);
    });
  }

  get stats(): TransportStats {
    const s = this.inner.stats;
    const drops = { ...s.drops };
    for (const k of Object.keys(this.drops) as DropReason[]) drops[k] += this.drops[k];
    return { ...s, drops };
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private incoming(msg: AnyMsg): void {
    if (this.faults.down) return;
    const m = this.corrupt(msg, this.role);
    if (!m) return;
    this.later("in", () => {
      if (!this.faults.down) this.handlers.onMessage(m);
    });
  }

  /** Corrupts bytes of the frame form; returns the message if it survived the receiver's checks. */
  private corrupt(msg: AnyMsg, receiver: Role): AnyMsg | undefined {
    const rate = this.faults.corruptRate;
    if (!(rate > 0)) return msg;
    const bytes = Buffer.from(encodeFrame(msg), "utf8");
    let hit = false;
    for (let i = 0; i < bytes.length - 1; i++) {
      if (this.rng() < rate) {
        bytes[i] = Math.floor(this.rng() * 256);
        hit = true;
      }
    }
    if (!hit) return msg;
    // The receiver's own line reader judges the bytes: a byte that became a line break splits the frame
    // into the lines a wire would carry, each dropped (or, if empty, ignored) on its own.
    const mine = receiver === this.role;
    let out: AnyMsg | undefined;
    const reader = new FrameReader(
      (m) => (out ??= m),
      (r, d) => {
        if (!mine) return;
        this.drops[r]++;
        this.handlers.onDrop?.(r, d);
      },
      ACCEPTS[receiver],
    );
    reader.push(bytes);
    return out;
  }

  private later(dir: "in" | "out", fn: () => void): void {
    const f = this.faults;
    const delay = f.latencyMs + (f.jitterMs > 0 ? this.rng() * f.jitterMs : 0);
    const now = this.clock.now();
    const last = dir === "in" ? this.lastIn : this.lastOut;
    if (delay <= 0 && last <= now) return fn();
    const at = Math.max(now + delay, last);
    if (dir === "in") this.lastIn = at;
    else this.lastOut = at;
    this.clock.setTimeout(fn, at - now);
  }
}
