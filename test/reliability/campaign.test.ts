// A 200-session slice of the reliability campaign (bench/campaign.ts): random programs and profiles,
// several random faults per session, invariants on every physics step, history checked in SQLite.
// Any violation is a safety bug: the failure message names the seed to replay with
// `npm run campaign -- --replay <seed>`.
import { describe, expect, it } from "vitest";
import { runCampaign } from "../../bench/campaign/engine.js";
import { formatReport } from "../../bench/campaign/report.js";
import { FAULT_KINDS } from "../../bench/campaign/fault-schedule.js";

describe("reliability campaign slice", () => {
  it("200 random sessions with random faults keep every safety invariant", async () => {
    const report = await runCampaign({ sessions: 200, seed: 20261122, workers: 0 });
    expect(report.sessions).toBe(200);
    // The slice must actually exercise every kind of fault, or it proves little.
    for (const k of FAULT_KINDS) expect(report.faults[k] ?? 0, `fault ${k} never injected`).toBeGreaterThan(0);
    expect(report.outcomes.completed ?? 0).toBeGreaterThan(0);
    expect(report.violations, formatReport(report)).toEqual([]);
  }, 900_000);
});
