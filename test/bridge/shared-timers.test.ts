// The bridge's shared timer wheel, driven by a manual tick source: timers never fire early, fire at the
// first step after they fall due, in due order, and one real timer runs only while any timer waits.
import { describe, expect, it } from "vitest";
import { SharedTimerClock, type TickSource } from "../../src/bridge/shared-timers.js";

class ManualSource implements TickSource {
  t = 0;
  private fn: (() => void) | undefined;
  started = 0;
  now(): number {
    return this.t;
  }
  every(fn: () => void, ms: number): () => void {
    expect(ms).toBe(5);
    this.fn = fn;
    this.started++;
    return () => (this.fn = undefined);
  }
  get ticking(): boolean {
    return this.fn !== undefined;
  }
  /** Moves time in steps of `step` ms, ticking after each, as the real interval would. */
  advance(ms: number, step = 5): void {
    const end = this.t + ms;
    while (this.t < end) {
      this.t = Math.min(end, this.t + step);
      this.fn?.();
    }
  }
}

function setup() {
  const src = new ManualSource();
  return { src, clock: new SharedTimerClock(5, src) };
}

describe("SharedTimerClock", () => {
  it("fires a timeout at the first tick at or after its due time, never before", () => {
    const { src, clock } = setup();
    src.t = 2;
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(src.t), 12);
    // Ticks at 7 and 12, then 17: due at 14, it fires at 17.
    src.advance(10);
    expect(fired).toEqual([]);
    src.advance(5);
    expect(fired).toEqual([17]);
    // With ticks every millisecond it fires exactly when due.
    clock.setTimeout(() => fired.push(src.t), 12);
    src.advance(11, 1);
    expect(fired).toEqual([17]);
    src.advance(1, 1);
    expect(fired).toEqual([17, 29]);
    src.advance(100);
    expect(fired).toEqual([17, 29]);
  });

  it("fires a batch in due order, equal due times in the order they were set", () => {
    const { src, clock } = setup();
    const order: string[] = [];
    clock.setTimeout(() => order.push("c"), 4);
    clock.setTimeout(() => order.push("a"), 1);
    clock.setTimeout(() => order.push("b1"), 3);
    clock.setTimeout(() => order.push("b2"), 3);
    src.advance(5);
    expect(order).toEqual(["a", "b1", "b2", "c"]);
  });

  it("repeats intervals on their period, and after a stall carries on from now without a burst", () => {
    const { src, clock } = setup();
    const at: number[] = [];
    clock.setInterval(() => at.push(src.t), 20);
    src.advance(60);
    expect(at).toEqual([20, 40, 60]);
    // The loop stalls for 95 ms: one late firing, then the period again from there.
    src.advance(95, 95);
    expect(at).toEqual([20, 40, 60, 155]);
    src.advance(40);
    expect(at).toEqual([20, 40, 60, 155, 175, 195]);
  });

  it("keeps long timers across turns of the wheel", () => {
    const { src, clock } = setup();
    const at: number[] = [];
    clock.setTimeout(() => at.push(src.t), 3000);
    clock.setInterval(() => undefined, 100);
    src.advance(2995);
    expect(at).toEqual([]);
    src.advance(5);
    expect(at).toEqual([3000]);
  });

  it("does not fire a timer cleared before it is due, even by another callback of the same batch", () => {
    const { src, clock } = setup();
    const fired: string[] = [];
    const h = clock.setTimeout(() => fired.push("cleared"), 3);
    clock.setTimeout(() => fired.push("x"), 2);
    const late = clock.setTimeout(() => fired.push("late"), 4);
    clock.setTimeout(() => clock.clearTimeout(late), 1);
    clock.clearTimeout(h);
    src.advance(10);
    expect(fired).toEqual(["x"]);
  });

  it("runs a timer set from a callback in a later step, even with no delay", () => {
    const { src, clock } = setup();
    const at: number[] = [];
    clock.setTimeout(() => clock.setTimeout(() => at.push(src.t), 0), 5);
    src.advance(5);
    expect(at).toEqual([]);
    src.advance(5);
    expect(at).toEqual([10]);
  });

  it("runs its one real timer only while a timer waits", () => {
    const { src, clock } = setup();
    expect(src.ticking).toBe(false);
    const a = clock.setInterval(() => undefined, 50);
    clock.setTimeout(() => undefined, 10);
    expect(src.ticking).toBe(true);
    expect(src.started).toBe(1);
    src.advance(20);
    expect(clock.pending).toBe(1);
    clock.clearInterval(a);
    expect(src.ticking).toBe(false);
    clock.setTimeout(() => undefined, 10);
    expect(src.started).toBe(2);
    src.advance(10);
    expect(src.ticking).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it("reports time from its source", () => {
    const { src, clock } = setup();
    src.t = 1234.5;
    expect(clock.now()).toBe(1234.5);
    expect(() => clock.setInterval(() => undefined, 0)).toThrow(RangeError);
  });
});
