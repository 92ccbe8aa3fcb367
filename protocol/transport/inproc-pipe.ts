// An in-process byte link between two BytePorts, timed by a Clock, with the link faults a USB-UART cable
// or radio shows: drop (cut) for a while, byte corruption, latency and jitter. Used by the embedded
// simulator and by every virtual-time test, so the real codec sits on the path.
import type { Clock, TimerHandle } from "../clock.js";
import type { BytePort } from "./types.js";

export interface LinkFaults {
  /** Probability that any one byte is replaced by a random byte. */
  corruptRate: number;
  /** One-way delay in ms, plus uniform jitter in [0, jitterMs). Ordering is preserved. */
  latencyMs: number;
  jitterMs: number;
  /** While true, bytes in both directions are lost. */
  down: boolean;
}

export type Rng = () => number;

/** Small deterministic PRNG (mulberry32) so fault runs replay from a seed. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class PipeEnd implements BytePort {
  peer!: PipeEnd;
  private dataCb: (chunk: Uint8Array) => void = () => {};
  private closeCbs: ((e?: Error) => void)[] = [];
  closed = false;
  private lastDeliverAt = 0;
  private readonly pendingTimers = new Set<TimerHandle>();

  constructor(private readonly link: InprocLink) {}

  write(data: Uint8Array): void {
    if (this.closed || this.peer.closed) return;
    const f = this.link.faults;
    if (f.down) return;
    let bytes: Uint8Array = data;
    if (f.corruptRate > 0) {
      bytes = Uint8Array.from(data);
      for (let i = 0; i < bytes.length; i++) {
        if (this.link.rng() < f.corruptRate) {
          bytes[i] = Math.floor(this.link.rng() * 256);
          this.link.corruptedBytes++;
        }
      }
    }
    const delay = f.latencyMs + (f.jitterMs > 0 ? this.link.rng() * f.jitterMs : 0);
    if (delay <= 0 && this.lastDeliverAt <= this.link.clock.now()) {
      this.peer.deliver(bytes);
      return;
    }
    // Preserve byte order under jitter: never deliver before the previous chunk.
    const at = Math.max(this.link.clock.now() + delay, this.lastDeliverAt);
    this.lastDeliverAt = at;
    const h = this.link.clock.setTimeout(() => {
      this.pendingTimers.delete(h);
      if (!this.link.faults.down) this.peer.deliver(bytes);
    }, at - this.link.clock.now());
    this.pendingTimers.add(h);
  }

  deliver(bytes: Uint8Array): void {
    if (!this.closed) this.dataCb(bytes);
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCb = cb;
  }

  onClose(cb: (error?: Error) => void): void {
    this.closeCbs.push(cb);
  }

  async close(): Promise<void> {
    this.shut();
    this.peer.shut();
  }

  shut(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.pendingTimers) this.link.clock.clearTimeout(h);
    this.pendingTimers.clear();
    for (const cb of this.closeCbs) cb();
  }
}

export class InprocLink {
  readonly faults: LinkFaults = { corruptRate: 0, latencyMs: 0, jitterMs: 0, down: false };
  readonly a: BytePort;
  readonly b: BytePort;
  corruptedBytes = 0;
  private readonly outages: Outages;

  constructor(
    readonly clock: Clock,
    readonly rng: Rng = mulberry32(1),
  ) {
    this.outages = new Outages(clock, this.faults);
    const a = new PipeEnd(this);
    const b = new PipeEnd(this);
    a.peer = b;
    b.peer = a;
    this.a = a;
    this.b = b;
  }

  /** Cuts the link for `ms`, then restores it. */
  dropFor(ms: number): void {
    this.outages.cut(ms);
  }
}

/**
 * Cuts a link for a while, then restores it. A fault plan may schedule outages that overlap: the end of a
 * short one inside a long one must not bring the link back while the long one lasts. One timer, for the
 * latest end, restores the link (replaced rather than compared with the time when it fires: a real timer
 * may fire a little early).
 */
export class Outages {
  private end = -Infinity;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly faults: LinkFaults,
  ) {}

  cut(ms: number): void {
    this.faults.down = true;
    const end = this.clock.now() + ms;
    if (end <= this.end) return;
    this.end = end;
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.faults.down = false;
    }, ms);
  }
}
