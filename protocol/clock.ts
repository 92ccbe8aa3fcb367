// Every time-dependent part (firmware, physics, link layer, session machine, supervisor) takes a Clock,
// so tests and the embedded simulator run in virtual time and standalone runs use real time.
// The shape is a superset of XState's `Clock`, so one instance drives the session actor too.

export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Milliseconds; monotonic. Virtual clocks start at 0. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
}

/** A pending timer of a clock that keeps its own queue. */
export interface QueuedTimer {
  id: number;
  at: number;
  /** Creation order: equal due times fire in the order they were set, as Node's timers do. */
  order: number;
  fn: () => void;
  every: number; // 0 for one-shot
  cancelled: boolean;
}

/**
 * The timer bookkeeping of clocks that queue their own timers (VirtualClock here, the bridge's shared
 * timer wheel): ids, creation order, cancellation and re-arming an interval. A subclass says what time
 * it is and where a timer waits until it is due.
 */
export abstract class QueuedClock implements Clock {
  private nextId = 1;
  private order = 0;
  private readonly live = new Map<number, QueuedTimer>();

  abstract now(): number;
  /** Puts a timer where it waits until `timer.at` (a new one, or an interval re-armed). */
  protected abstract enqueue(timer: QueuedTimer): void;
  /** Called when no timer is pending any more. */
  protected idle(): void {}

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, Math.max(0, ms), 0);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    if (!(ms > 0)) throw new RangeError("interval must be > 0 ms");
    return this.add(fn, ms, ms);
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const t = this.live.get(handle.id);
    if (!t) return;
    // Queues may keep cancelled timers and skip them when they come up.
    t.cancelled = true;
    this.live.delete(handle.id);
    if (this.live.size === 0) this.idle();
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle);
  }

  /** Number of pending timers (for leak checks). */
  get pending(): number {
    return this.live.size;
  }

  /** Runs a due timer. An interval is re-armed for `nextAt` before its callback, so it survives a throw. */
  protected fireTimer(timer: QueuedTimer, nextAt: number): void {
    if (timer.every > 0) {
      timer.at = nextAt;
      timer.order = this.order++;
      this.enqueue(timer);
    } else this.live.delete(timer.id);
    timer.fn();
  }

  private add(fn: () => void, delay: number, every: number): TimerHandle {
    const timer: QueuedTimer = { id: this.nextId++, at: this.now() + delay, order: this.order++, fn, every, cancelled: false };
    this.live.set(timer.id, timer);
    this.enqueue(timer);
    return { id: timer.id };
  }
}

/**
 * Deterministic virtual time: nothing happens until `advance`/`runUntil` is called, then timers fire in
 * (time, creation) order. Everything sharing one VirtualClock runs in lockstep (as PX4 SITL does).
 */
export class VirtualClock extends QueuedClock {
  private t: number;
  private heap: QueuedTimer[] = [];

  constructor(start = 0) {
    super();
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  /** Advances virtual time by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }

  advanceTo(target: number): void {
    for (;;) {
      const top = this.peek();
      if (!top || top.at > target) break;
      this.fire();
    }
    if (target > this.t) this.t = target;
  }

  /**
   * Fires timers one at a time until `done()` holds or `maxMs` of virtual time has passed.
   * Returns true when `done()` held.
   */
  runUntil(done: () => boolean, maxMs: number): boolean {
    const limit = this.t + maxMs;
    if (done()) return true;
    for (;;) {
      const top = this.peek();
      if (!top || top.at > limit) {
        this.t = Math.max(this.t, limit);
        return done();
      }
      this.fire();
      if (done()) return true;
    }
  }

  protected enqueue(timer: QueuedTimer): void {
    this.push(timer);
  }

  private peek(): QueuedTimer | undefined {
    while (this.heap.length && this.heap[0].cancelled) this.pop();
    return this.heap[0];
  }

  private fire(): void {
    const timer = this.pop()!;
    if (timer.at > this.t) this.t = timer.at;
    this.fireTimer(timer, timer.at + timer.every);
  }

  private less(a: QueuedTimer, b: QueuedTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private push(t: QueuedTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): QueuedTimer | undefined {
    const h = this.heap;
    if (!h.length) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Wall-clock time, optionally sped up (`--speed N` on the embedded simulator: N simulated ms per real ms).
 */
export class RealClock implements Clock {
  private readonly origin = performance.now();
  private readonly handles = new Map<number, ReturnType<typeof setTimeout>>();
  private nextId = 1;

  constructor(private readonly speed = 1) {
    if (!(speed > 0)) throw new RangeError("speed must be > 0");
  }

  now(): number {
    return (performance.now() - this.origin) * this.speed;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.handles.set(
      id,
      setTimeout(() => {
        this.handles.delete(id);
        fn();
      }, Math.max(0, ms) / this.speed),
    );
    return { id };
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.handles.set(id, setInterval(fn, ms / this.speed));
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const h = this.handles.get(handle.id);
    if (h !== undefined) {
      clearTimeout(h);
      clearInterval(h);
      this.handles.delete(handle.id);
    }
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle);
  }
}
