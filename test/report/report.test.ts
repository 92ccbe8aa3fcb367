import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CSV_COLUMNS, buildChartSpec, loadReportData, readPlanned, renderSvg, resolveSessionId, svgToPng, textSummary, writeReport } from "../../src/report/index.js";
import { describeWithTmpfs, mountTmpfs, type Tmpfs } from "../store/tmpfs.js";
import { recordedSession } from "./fixture.js";

const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

describe("session chart", () => {
  it("plots planned and measured angle with a legend, shaded limits and labelled events", async () => {
    const { store, id } = recordedSession();
    const svg = await renderSvg(buildChartSpec(loadReportData(store, id)));
    expect(svg.startsWith("<svg")).toBe(true);
    const t = texts(svg);
    expect(t).toContain("planned");
    expect(t).toContain("measured");
    expect(t).toContain("holding at 25°");
    expect(t).toContain("dizziness reported");
    expect(t).toContain("angle (°)");
    expect(t).not.toContain("force (N)");
    // One line path per series, carrying its series in the aria label.
    expect(svg).toMatch(/<path[^>]*aria-label="[^"]*series: planned"/);
    expect(svg).toMatch(/<path[^>]*aria-label="[^"]*series: measured"/);
    // The regions beyond both limits are shaded: above 25° and, past upright, below -80°.
    expect(svg).toContain('aria-label="above limit 25 °"');
    expect(svg).toContain('aria-label="below limit -80 °"');
    // The event rules.
    expect(svg).toMatch(/aria-label="dizziness reported"/);
    store.close();
  });

  it("merges captions of events too close to read apart, keeping one rule each", async () => {
    const { store, id } = recordedSession();
    store.sessions.addEvent(id, { t: 0, kind: "info", code: "BOOT", msg: "boot", json: {} });
    store.sessions.addEvent(id, { t: 0.1, kind: "info", code: "LIMITS", msg: "limits sent", json: {} });
    const svg = await renderSvg(buildChartSpec(loadReportData(store, id)));
    expect(texts(svg)).toContain("boot; limits sent");
    expect(svg).toMatch(/aria-label="boot"/);
    expect(svg).toMatch(/aria-label="limits sent"/);
    store.close();
  });

  it("adds a force panel when the session used traction", async () => {
    const { store, id } = recordedSession({ force: true });
    const svg = await renderSvg(buildChartSpec(loadReportData(store, id)));
    expect(texts(svg)).toContain("force (N)");
    expect(svg).toContain('aria-label="above limit 400 N"');
    store.close();
  });

  it("measured series follows the stored samples", () => {
    const { store, id } = recordedSession();
    const spec = buildChartSpec(loadReportData(store, id)) as unknown as { vconcat: { layer: { data: { values: { t: number; value: number; series: string }[] } }[] }[] };
    const measured = spec.vconcat[0].layer[1].data.values.filter((r) => r.series === "measured");
    const samples = store.sessions.samples(id);
    expect(measured).toHaveLength(samples.length);
    expect(measured.map((r) => r.value)).toEqual(samples.map((s) => s.tilt));
    store.close();
  });

  it("renders a PNG", async () => {
    const { store, id } = recordedSession();
    const png = svgToPng(await renderSvg(buildChartSpec(loadReportData(store, id))));
    expect(png.subarray(1, 4).toString("ascii")).toBe("PNG");
    expect(png.length).toBeGreaterThan(5000);
    store.close();
  });
});

describe("a session that never moved", () => {
  it("still renders and summarises (refused before motion: no samples, no plan)", async () => {
    const { store } = recordedSession();
    const id = store.sessions.begin({ kind: "program", programName: "oscillation", program: {} });
    store.sessions.end(id, "refused", { reason: "step 2 (pump) goes to 60 deg but the profile limit is 20 deg" });
    const d = loadReportData(store, id);
    const svg = await renderSvg(buildChartSpec(d));
    expect(texts(svg)).toContain("Session 2: oscillation");
    const text = await writeReport(store, id);
    expect(text).toContain("refused (step 2 (pump) goes to 60 deg but the profile limit is 20 deg)");
    expect(text).toContain("0 samples, 0 events");
    store.close();
  });
});

describe("stored planned trajectory", () => {
  it("is shifted to where the program started and tolerates damaged values", () => {
    expect(readPlanned({ offsetS: 2, points: [{ t: 0, tilt: -80 }, { t: 1, tilt: -78, force: 5 }, { t: "x" }, null] })).toEqual([
      { t: 2, tilt: -80, force: 0 },
      { t: 3, tilt: -78, force: 5 },
    ]);
    expect(readPlanned([{ t: 0, tilt: 1, force: 2 }])).toEqual([{ t: 0, tilt: 1, force: 2 }]);
    expect(readPlanned(null)).toEqual([]);
  });
});

describe("report files", () => {
  it("exports CSV with a header and one row per stored sample", async () => {
    const { store, id, dir } = recordedSession({ force: true });
    const out = join(dir, "s.csv");
    expect(await writeReport(store, id, out)).toContain("600 samples");
    const lines = readFileSync(out, "utf8").trimEnd().split("\n");
    expect(lines[0]).toBe(CSV_COLUMNS.join(","));
    const samples = store.sessions.samples(id);
    expect(lines).toHaveLength(samples.length + 1);
    const row = lines[101].split(",");
    expect(Number(row[0])).toBe(samples[100].t);
    expect(Number(row[1])).toBe(samples[100].tilt);
    expect(Number(row[4])).toBe(samples[100].force);
    expect(row[6]).toBe(samples[100].mode);
    store.close();
  });

  it("exports JSON with session, events, discomfort and samples", async () => {
    const { store, id, dir } = recordedSession();
    const out = join(dir, "s.json");
    await writeReport(store, id, out);
    const j = JSON.parse(readFileSync(out, "utf8")) as { session: { id: number; outcome: string }; samples: unknown[]; events: unknown[]; discomfort: { kind: string }[] };
    expect(j.session).toMatchObject({ id, outcome: "aborted" });
    expect(j.samples).toHaveLength(600);
    expect(j.events).toHaveLength(2);
    expect(j.discomfort[0].kind).toBe("dizziness");
    store.close();
  });

  it("writes SVG and PNG files by extension, and prints a summary without --out", async () => {
    const { store, id, dir } = recordedSession();
    await writeReport(store, id, join(dir, "s.svg"));
    expect(texts(readFileSync(join(dir, "s.svg"), "utf8"))).toContain("measured");
    await writeReport(store, id, join(dir, "s.PNG"));
    expect(readFileSync(join(dir, "s.PNG")).subarray(1, 4).toString()).toBe("PNG");
    const text = await writeReport(store, id);
    expect(text).toContain(`session ${id}: rampup-25`);
    expect(text).toContain("aborted (discomfort: dizziness), 59.9 s");
    expect(text).toContain("max 25°");
    expect(text).toContain("dizziness reported");
    store.close();
  });

  it("refuses bad arguments with one clear line", async () => {
    const { store, id, dir } = recordedSession();
    await expect(writeReport(store, id, join(dir, "s.pdf"))).rejects.toThrow(/^--out: ".*s\.pdf" must end in \.svg, \.png, \.csv, \.json$/);
    await expect(writeReport(store, 999)).rejects.toThrow(/^unknown session 999/);
    await expect(writeReport(store, id, join(dir, "missing", "s.csv"))).rejects.toThrow(/^--out: cannot write .*ENOENT/);
    expect(() => resolveSessionId(store, "abc")).toThrow(/^SESSION: "abc" is not a session id/);
    expect(resolveSessionId(store, "last")).toBe(id);
    store.close();
  });
});

describe("replacing a report file", () => {
  it("replaces it whole and leaves no temporary file, even when the write fails", async () => {
    const { store, id, dir } = recordedSession();
    const out = join(dir, "s.csv");
    writeFileSync(out, "previous report\n");
    await writeReport(store, id, out);
    expect(readFileSync(out, "utf8")).toMatch(/^t,/);
    // A folder where the file should go: refused with one line, nothing left behind.
    const taken = join(dir, "taken.csv");
    mkdirSync(taken);
    await expect(writeReport(store, id, taken)).rejects.toThrow(/^--out: cannot write ".*taken\.csv": is a directory \(EISDIR\)$/);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    store.close();
  });
});

describeWithTmpfs("a report written to a full disk", () => {
  let fs: Tmpfs;
  beforeAll(() => {
    fs = mountTmpfs(256);
  });
  afterAll(() => {
    fs.unmount();
  });

  it("keeps the previous file, removes its temporary file and says so in words", async () => {
    const { store, id } = recordedSession();
    const out = join(fs.dir, "s.csv");
    writeFileSync(out, "previous report\n");
    fs.fill();
    try {
      const err = await writeReport(store, id, out).then(
        () => undefined,
        (e: unknown) => e,
      );
      // Written in place, the old file was truncated first and then the write failed: both lost.
      expect(readFileSync(out, "utf8")).toBe("previous report\n");
      expect(readdirSync(fs.dir).sort()).toEqual(["filler", "s.csv"]);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/^--out: cannot write ".*s\.csv": no space left on device \(ENOSPC\)$/);
    } finally {
      fs.unfill();
      store.close();
    }
  });
});

describe("a very long session", () => {
  it("summarises and charts hours of samples without overflowing the stack", () => {
    const f = recordedSession({ force: true });
    const d = loadReportData(f.store, f.id);
    // Eight hours at 10 Hz: far more values than a call may take as arguments.
    const n = 8 * 3600 * 10;
    const samples = Array.from({ length: n }, (_, i) => ({ ...d.samples[i % d.samples.length]!, t: i / 10, tilt: i === n - 7 ? 33 : -10 }));
    const long = { ...d, samples };
    expect(textSummary(long)).toMatch(/angle: max 33°/);
    const spec = JSON.stringify(buildChartSpec(long));
    expect(spec.length).toBeGreaterThan(0);
  });
});
