// One real timer for every timer of the bridge's devices. A bridge serving a thousand devices keeps about
// three periodic timers per device (heartbeat, link liveness, the session's supervisor tick): tens of
// thousands of Node timer callbacks a second, each followed by its own round of ticks and microtasks.
// Here they wait in a timer wheel, and a single Node interval, running only while any timer is pending,
// fires every due one in a batch. A timer never fires early; it fires at the first tick after it falls
// due, at most one resolution step (plus event-loop lag) late, which is far inside every period it
// serves (heartbeat 200 ms, watchdog 1 s, supervisor 100 ms).
import { QueuedClock, type QueuedTimer } from "../../protocol/index.js";

/** Where the batches come from: real time and one periodic real timer (tests give a manual one). */
export interface TickSource {
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(fn: () => void, ms: number): () => void;
}

export function realTickSource(): TickSource {
  const origin = performance.now();
  return {
    now: () => performance.now() - origin,
    every(fn, ms) {
      const h = setInterval(fn, ms);
      return () => clearInterval(h);
    },
  };
}

/** Slots of the wheel: with the default 5 ms resolution one turn is 1.28 s, longer than most periods. */
const SLOTS = 256;

/**
 * A hashed timer wheel: a timer waits in the slot of the resolution step it falls due in; each step
 * looks at its slot only (timers due in a later turn stay put).
 */
export class SharedTimerClock extends QueuedClock {
  private readonly slots: QueuedTimer[][] = Array.from({ length: SLOTS }, () => []);
  /** The last step whose slot was processed. */
  private cursor = 0;
  private stopTicking: (() => void) | undefined;

  constructor(
    readonly resolutionMs = 5,
    private readonly source: TickSource = realTickSource(),
  ) {
    super();
    if (!(resolutionMs > 0)) throw new RangeError("resolution must be > 0 ms");
  }

  now(): number {
    return this.source.now();
  }

  protected enqueue(e: QueuedTimer): void {
    if (!this.stopTicking) {
      this.cursor = Math.floor(this.source.now() / this.resolutionMs);
      this.stopTicking = this.source.every(() => this.run(), this.resolutionMs);
    }
    // The first step at or after the due time, and never one already processed.
    const step = Math.max(Math.ceil(e.at / this.resolutionMs), this.cursor + 1);
    this.slots[step % SLOTS].push(e);
  }

  protected override idle(): void {
    this.stopTicking?.();
    this.stopTicking = undefined;
    // Only cancelled entries are left.
    for (const s of this.slots) s.length = 0;
  }

  /** Fires every timer due at the start of the batch; timers set meanwhile wait for the next step. */
  private run(): void {
    const now = this.source.now();
    // The step now falls in is looked at too (its due timers fire now, the rest stay), and again next time.
    const step = Math.floor(now / this.resolutionMs);
    const last = Math.ceil(now / this.resolutionMs);
    const due: QueuedTimer[] = [];
    // After a stall longer than a turn, each slot is looked at once.
    for (let k = this.cursor + 1; k <= last && k <= this.cursor + SLOTS; k++) {
      const slot = this.slots[k % SLOTS];
      if (slot.length === 0) continue;
      const later: QueuedTimer[] = [];
      for (const e of slot) {
        if (e.cancelled) continue;
        if (e.at <= now) due.push(e);
        else later.push(e);
      }
      this.slots[k % SLOTS] = later;
    }
    this.cursor = Math.max(this.cursor, step);
    if (due.length > 1) due.sort((a, b) => a.at - b.at || a.order - b.order);
    for (const e of due) {
      // An earlier callback of this batch may have cleared it.
      if (e.cancelled) continue;
      // Late (a stalled loop): an interval carries on from now rather than firing the missed periods in a burst.
      this.fireTimer(e, e.at + e.every > now ? e.at + e.every : now + e.every);
    }
    if (this.pending === 0) this.idle();
  }
}
