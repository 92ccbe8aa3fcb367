// The fleet bench's verdict: both figures must hold, and a run below the target's scale never counts as
// meeting it.
import { describe, expect, it } from "vitest";
import { FLEET_TARGET, formatVerdict, judgeFleet } from "../../bench/fleet-target.js";

const run = (devices: number, p99: number, tlm: number, requestErrors = 0) => ({ devices, rttMs: { p99 }, telemetryPerDevicePerS: tlm, requestErrors });

describe("fleet target", () => {
  it("is met at 1,000 devices with p99 under 50 ms and every device at 10 Hz", () => {
    const v = judgeFleet(run(1000, 24.8, 9.94));
    expect(v).toEqual({ pass: true, atTargetScale: true, misses: [] });
    expect(formatVerdict(v, 1000)).toBe("met");
  });

  it("is missed on the round trip, at exactly 50 ms too", () => {
    const v = judgeFleet(run(1000, FLEET_TARGET.p99Ms, 10));
    expect(v.pass).toBe(false);
    expect(v.misses).toEqual(["request p99 50 ms (target < 50 ms)"]);
  });

  it("is missed when the devices could not keep 10 Hz, even with a fast round trip", () => {
    // Fewer samples is less load: a quick p99 then proves nothing about 10 Hz.
    const v = judgeFleet(run(1000, 12, 7.59));
    expect(v.pass).toBe(false);
    expect(formatVerdict(v, 1000)).toBe("missed: telemetry 7.59 per device per second (target 10)");
  });

  it("counts requests answered with an error, and names every miss", () => {
    const v = judgeFleet(run(1000, 1953.25, 7.34, 3));
    expect(v.misses).toHaveLength(3);
    expect(v.misses[2]).toBe("3 requests answered with an error");
  });

  it("says when a run is below the target's scale", () => {
    const v = judgeFleet(run(500, 17, 10.09));
    expect(v).toMatchObject({ pass: true, atTargetScale: false });
    expect(formatVerdict(v, 500)).toBe("met at 500 devices (the target is for 1,000)");
    expect(judgeFleet(run(999, 17, 10)).atTargetScale).toBe(false);
  });

  it("treats a missing figure (no requests measured) as a miss, not a pass", () => {
    const v = judgeFleet(run(1000, NaN, NaN));
    expect(v.pass).toBe(false);
    expect(v.misses).toHaveLength(2);
  });
});
