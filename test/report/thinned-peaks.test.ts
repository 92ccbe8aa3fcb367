// A long session's chart is thinned to a few thousand points; its peaks must survive the thinning.
import { describe, expect, it } from "vitest";
import { buildChartSpec, thin, type ReportData } from "../../src/report/index.js";
import type { SampleRow } from "../../src/store/index.js";

type Row = { t: number; value: number; series: string };
type Spec = { vconcat: { layer: { data: { values: Row[] } }[] }[] };

function longSession(samples: SampleRow[]): ReportData {
  return {
    session: {
      id: 1, profileId: null, profileName: null, kind: "program", programName: "long-hold", program: {}, limits: {}, planned: {},
      targetAngle: null, minutes: null, device: null, outcome: "aborted", reason: "safety supervisor", discomfort: false,
      startedAt: "2026-03-02T07:30:00.000Z", endedAt: null, summary: null,
    },
    samples,
    events: [],
    planned: [],
    limits: { tiltMin: -80, tiltMax: 45, forceMax: 300 },
  };
}

const measured = (spec: Spec, panel: number): Row[] => spec.vconcat[panel].layer.flatMap((l) => l.data.values).filter((r) => r.series === "measured");

describe("the chart of a long session", () => {
  // One hour at 10 Hz, holding at 30° and 100 N, with a 0.3 s overshoot past the 45° / 300 N limits.
  const n = 36_000;
  const peak = (i: number) => i >= 20_001 && i < 20_004;
  const samples: SampleRow[] = Array.from({ length: n }, (_, i) => ({
    t: i / 10, tilt: peak(i) ? 47.5 : 30, tilt2: 30, vel: 0, force: peak(i) ? 340 : 100, current: 1, mode: "holding",
  }));

  it("still shows a short excursion past the limits, within the point budget", () => {
    const spec = buildChartSpec(longSession(samples), { maxPoints: 2000 }) as unknown as Spec;
    const angle = measured(spec, 0);
    const force = measured(spec, 1);
    expect(angle.length).toBeLessThanOrEqual(2000);
    expect(force.length).toBeLessThanOrEqual(2000);
    expect(Math.max(...angle.map((r) => r.value))).toBe(47.5);
    expect(Math.max(...force.map((r) => r.value))).toBe(340);
    // In time order, from the first sample to the last.
    expect(angle[0].t).toBe(0);
    expect(angle[angle.length - 1].t).toBe((n - 1) / 10);
    expect(angle.every((r, i) => i === 0 || r.t > angle[i - 1].t)).toBe(true);
  });

  it("keeps the lowest and highest point of every stretch", () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({ i, v: i === 333 ? -5 : i === 777 ? 99 : i % 7 }));
    const kept = thin(rows, 50, (r) => r.v);
    expect(kept.length).toBeLessThanOrEqual(50);
    expect(kept.map((r) => r.i)).toEqual(expect.arrayContaining([0, 333, 777, 999]));
  });
});
