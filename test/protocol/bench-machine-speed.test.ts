// The machine figures printed beside fleet and bench results come from real measurements (no timing
// assertions here: figures are printed by the benchmarks, not tested).
import { describe, expect, it } from "vitest";
import { formatMachineSpeed, measureMachineSpeed } from "../../bench/machine-speed.js";

describe("machine speed", () => {
  it("measures a parse rate and a system call cost", () => {
    const m = measureMachineSpeed({ roundMs: 5, rounds: 3 });
    expect(Number.isFinite(m.jsonParsePerS) && m.jsonParsePerS > 0).toBe(true);
    expect(Number.isFinite(m.syscallUs) && m.syscallUs > 0).toBe(true);
    const [slowest, fastest] = m.jsonParsePerSRange;
    expect(slowest).toBeLessThanOrEqual(m.jsonParsePerS);
    expect(fastest).toBeGreaterThanOrEqual(m.jsonParsePerS);
    const line = formatMachineSpeed(m);
    expect(line).toContain(m.jsonParsePerS.toLocaleString("en-US"));
    expect(line).toContain(`${m.syscallUs} µs`);
  });
});
