// The fleet bench's request schedule: the Poisson pattern must really be independent arrivals at the asked
// rate (not a disguised even spacing, which would flatter the round trip), and the burst pattern must keep
// the batches the earlier figures were taken with.
import { describe, expect, it } from "vitest";
import { BURST_EVERY_MS, arrivalTimes } from "../../bench/fleet-arrivals.js";
import { mulberry32 } from "../../protocol/transport/inproc-pipe.js";

describe("fleet bench arrivals", () => {
  it("poisson: the asked rate, in order, inside the window, the same for the same seed", () => {
    const a = arrivalTimes("poisson", 500, 20_000, mulberry32(1));
    expect(a.length).toBeGreaterThan(10_000 * 0.97);
    expect(a.length).toBeLessThan(10_000 * 1.03);
    expect(a.every((t, i) => t >= 0 && t < 20_000 && (i === 0 || t >= a[i - 1]))).toBe(true);
    expect(arrivalTimes("poisson", 500, 20_000, mulberry32(1))).toEqual(a);
    expect(arrivalTimes("poisson", 500, 20_000, mulberry32(2))).not.toEqual(a);
  });

  it("poisson: gaps are exponential, so requests sometimes bunch up", () => {
    const a = arrivalTimes("poisson", 500, 60_000, mulberry32(7));
    const gaps = a.slice(1).map((t, i) => t - a[i]);
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    expect(mean).toBeCloseTo(2, 1);
    // An exponential gap is shorter than a tenth of its mean about 9.5 % of the time, and longer than
    // three means about 5 % of the time; even spacing would give neither.
    const short = gaps.filter((g) => g < mean / 10).length / gaps.length;
    const long = gaps.filter((g) => g > 3 * mean).length / gaps.length;
    expect(short).toBeGreaterThan(0.08);
    expect(short).toBeLessThan(0.11);
    expect(long).toBeGreaterThan(0.04);
    expect(long).toBeLessThan(0.06);
  });

  it("burst: every 50 ms the slice's whole batch at once", () => {
    const a = arrivalTimes("burst", 500, 1000, mulberry32(1));
    expect(a).toHaveLength(20 * 25);
    expect(new Set(a).size).toBe(20);
    expect(a.filter((t) => t === 3 * BURST_EVERY_MS)).toHaveLength(25);
  });

  it("refuses a rate that is not positive", () => {
    expect(() => arrivalTimes("poisson", 0, 1000, mulberry32(1))).toThrow(/rate/);
  });
});
