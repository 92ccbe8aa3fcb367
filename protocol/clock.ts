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

interface Timer {
  id: number;
  at: number;
  order: number;
  fn: () => void;
  every: number; // 0 for one-shot
  cancelled: boolean;
}

/**
 * Deterministic virtual time: nothing happens until `advance`/`runUntil` is called, then timers fire in
 * (time, creation) order. Everything sharing one VirtualClock runs in lockstep (as PX4 SITL does).
 */
export class VirtualClock implements Clock {
  private t: number;
  private nextId = 1;
  private order = 0;
  private heap: Timer[] = [];
  private live = new Map<number, Timer>();

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

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
    if (t) {
      t.cancelled = true;
      this.live.delete(handle.id);
    }
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle);
  }

  /** Number of pending timers (for leak checks in tests). */
  get pending(): number {
    return this.live.size;
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

  private add(fn: () => void, delay: number, every: number): TimerHandle {
    const timer: Timer = { id: this.nextId++, at: this.t + delay, order: this.order++, fn, every, cancelled: false };
    this.live.set(timer.id, timer);
    this.push(timer);
    return { id: timer.id };
  }

  private peek(): Timer | undefined {
    while (this.heap.length && this.heap[0].cancelled) this.pop();
    return this.heap[0];
  }

  private fire(): void {
    const timer = this.pop()!;
    if (timer.at > this.t) this.t = timer.at;
    if (timer.every > 0) {
      timer.at += timer.every;
      timer.order = this.order++;
      this.push(timer);
    } else this.live.delete(timer.id);
    timer.fn();
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private push(t: Timer): void {
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

  private pop(): Timer | undefined {
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
