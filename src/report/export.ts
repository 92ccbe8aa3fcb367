// Sample export: CSV (one row per telemetry sample) and JSON (session, samples, events, discomfort).
import type { SampleRow } from "../store/index.js";
import type { ReportData } from "./data.js";

export const CSV_COLUMNS = ["t", "tilt", "tilt2", "vel", "force", "current", "mode"] as const;

function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function samplesToCsv(samples: readonly SampleRow[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const s of samples) lines.push(CSV_COLUMNS.map((c) => cell(s[c])).join(","));
  return lines.join("\n") + "\n";
}

export function reportToJson(d: ReportData, discomfort: unknown[]): string {
  const { session, samples, events } = d;
  return JSON.stringify({ session, events, discomfort, samples }, null, 2) + "\n";
}
