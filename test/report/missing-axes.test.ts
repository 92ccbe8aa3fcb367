// Devices with one axis: the effective limits of the missing axis are 0 (nothing allowed on it), which
// is not a limit the session ran against.
import { describe, expect, it } from "vitest";
import { buildChartSpec, loadReportData, readLimits, textSummary } from "../../src/report/index.js";
import { openStore } from "../../src/store/index.js";
import { tempDir } from "../store/tmp.js";

type Spec = { vconcat: { layer: { data: { values: { band?: string }[] } }[] }[] };

function stretcherSession() {
  const store = openStore(tempDir(), { now: () => new Date("2026-03-02T07:30:00Z") });
  const id = store.sessions.begin({ kind: "program", programName: "traction-10", program: {} });
  store.sessions.addSamples(
    id,
    Array.from({ length: 100 }, (_, i) => ({ t: i / 10, tilt: 0, tilt2: 0, vel: 0, force: Math.min(250, 5 * i), current: 1, mode: "moving" })),
  );
  // What a session on a stretcher stores: its EffectiveLimits.
  const limits = { tiltMin: 0, tiltMax: 0, speedMax: 0, forceMax: 300, rateMax: 50, axes: { tilt: false, traction: true }, source: {} };
  store.sessions.end(id, "completed", { summary: { durationS: 10, limits } });
  store.sessions.setPlan(id, limits, undefined);
  return { store, id };
}

describe("a device without one of the axes", () => {
  it("has no angle on a stretcher: no angle line in the summary, no angle panel, the force panel with its limit", () => {
    const { store, id } = stretcherSession();
    const d = loadReportData(store, id);
    expect(d.limits).toEqual({ tiltMin: undefined, tiltMax: undefined, forceMax: 300, noTilt: true });
    const text = textSummary(d);
    expect(text).not.toContain("angle:");
    expect(text).toContain("force: max 250 N, limit 300 N");
    const spec = buildChartSpec(d) as unknown as Spec & { vconcat: { title?: unknown }[] };
    expect(spec.vconcat).toHaveLength(1);
    expect(spec.vconcat[0].layer[0].data.values.map((b) => b.band)).toEqual(["above limit 300 N"]);
    store.close();
  });

  it("has no force limit on a table without traction", () => {
    const l = readLimits({ tiltMin: -80, tiltMax: 30, speedMax: 4, forceMax: 0, rateMax: 0, axes: { tilt: true, traction: false } });
    expect(l).toEqual({ tiltMin: -80, tiltMax: 30, forceMax: undefined });
  });

  it("keeps every limit of a record that does not say which axes the device had", () => {
    expect(readLimits({ tiltMin: -80, tiltMax: 30, forceMax: 200 })).toEqual({ tiltMin: -80, tiltMax: 30, forceMax: 200 });
  });
});
