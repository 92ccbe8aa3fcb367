// `invert report`: chart (SVG/PNG), sample export (CSV/JSON), or a text summary.
import { extname } from "node:path";
import { fsErrorText, writeFileAtomic } from "../store/atomic-write.js";
import type { Store } from "../store/index.js";
import { StoreError } from "../store/index.js";
import { buildChartSpec } from "./chart-spec.js";
import { loadReportData, type ReportData } from "./data.js";
import { reportToJson, samplesToCsv } from "./export.js";
import { renderSvg, svgToPng } from "./render.js";
import { textSummary } from "./summary.js";

export { buildChartSpec, thin } from "./chart-spec.js";
export { loadReportData, readLimits, readPlanned, resolveSessionId, type ReportData, type PlannedPoint } from "./data.js";
export { CSV_COLUMNS, reportToJson, samplesToCsv } from "./export.js";
export { renderSvg, svgToPng } from "./render.js";
export { textSummary } from "./summary.js";

export const REPORT_FORMATS = [".svg", ".png", ".csv", ".json"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function formatOf(file: string): ReportFormat {
  const ext = extname(file).toLowerCase();
  const f = REPORT_FORMATS.find((x) => x === ext);
  if (!f) throw new StoreError(`--out: "${file}" must end in ${REPORT_FORMATS.join(", ")}`);
  return f;
}

export async function renderReport(d: ReportData, format: ReportFormat, discomfort: unknown[] = []): Promise<string | Buffer> {
  switch (format) {
    case ".csv":
      return samplesToCsv(d.samples);
    case ".json":
      return reportToJson(d, discomfort);
    case ".svg":
      return renderSvg(buildChartSpec(d));
    case ".png":
      return svgToPng(await renderSvg(buildChartSpec(d)));
  }
}

/** Writes the report to `out` (format from its extension) or returns the text summary. */
export async function writeReport(store: Store, id: number, out?: string): Promise<string> {
  const format = out === undefined ? undefined : formatOf(out);
  const d = loadReportData(store, id);
  if (!format || !out) return textSummary(d);
  const body = await renderReport(d, format, store.sessions.discomfortReports(id));
  try {
    // Replaces an existing file only once the new one is complete (a full disk keeps the old report).
    writeFileAtomic(out, body);
  } catch (err) {
    throw new StoreError(`--out: cannot write "${out}": ${fsErrorText(err)}`);
  }
  return `wrote ${out} (${d.samples.length} samples, ${d.events.length} events)\n`;
}
