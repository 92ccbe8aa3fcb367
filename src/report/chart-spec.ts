// The session chart as a vega-lite spec: planned and measured angle over time (force on a second panel
// when the session used traction), the region beyond the effective limits shaded, events as rules with
// their text.
import type { TopLevelSpec } from "vega-lite";
import type { ReportData } from "./data.js";
import { maxOf, minOf } from "./extremes.js";

interface SeriesRow {
  t: number;
  value: number;
  series: "planned" | "measured";
}

/**
 * Keeps long sessions light: at most `max` points, first and last kept. With `value`, each stretch of
 * the series keeps its lowest and highest point: evenly picked points would step over a short peak (a
 * second past the limit in an hour-long session), and the chart would show a session that never got there.
 */
export function thin<T>(rows: readonly T[], max: number, value?: (r: T) => number): T[] {
  if (rows.length <= max) return [...rows];
  const n = rows.length;
  const buckets = Math.floor((max - 2) / 2);
  if (!value || buckets < 1) {
    const step = n / max;
    const out: T[] = [];
    for (let i = 0; i < max; i++) out.push(rows[Math.floor(i * step)]);
    out[out.length - 1] = rows[n - 1];
    return out;
  }
  const keep: number[] = [0];
  for (let b = 0; b < buckets; b++) {
    const from = Math.max(1, Math.floor((b * (n - 1)) / buckets));
    const to = Math.min(n - 1, Math.floor(((b + 1) * (n - 1)) / buckets));
    let lo = -1;
    let hi = -1;
    for (let i = from; i < to; i++) {
      const v = value(rows[i]);
      if (lo < 0 || v < value(rows[lo])) lo = i;
      if (hi < 0 || v > value(rows[hi])) hi = i;
    }
    if (lo < 0) continue;
    keep.push(Math.min(lo, hi));
    if (hi !== lo) keep.push(Math.max(lo, hi));
  }
  keep.push(n - 1);
  return keep.map((i) => rows[i]);
}

const CAPTION_MAX = 40;

function eventLabel(e: ReportData["events"][number]): string {
  const text = e.msg || e.code || e.kind;
  return text.length > CAPTION_MAX ? `${text.slice(0, CAPTION_MAX - 1)}…` : text;
}

/** Events closer than `gap` seconds share one caption (vertical captions would overprint); each keeps its rule. */
function mergeClose(events: { t: number; label: string }[], gap: number): EventMark[] {
  const out: EventMark[] = [];
  let head: EventMark | undefined;
  for (const e of [...events].sort((a, b) => a.t - b.t)) {
    if (head && e.t - head.t < gap) {
      const joined = `${head.caption}; ${e.label}`;
      // Vertical captions must fit the panel height.
      head.caption = joined.length > CAPTION_MAX ? `${joined.slice(0, CAPTION_MAX - 1)}…` : joined;
      out.push({ ...e, caption: "" });
    } else {
      head = { ...e, caption: e.label };
      out.push(head);
    }
  }
  return out;
}

interface EventMark {
  t: number;
  /** The event's own text (the rule's description). */
  label: string;
  /** Text drawn next to the rule; "" when merged into an earlier caption. */
  caption: string;
}

function line(rows: SeriesRow[], style: { strokeWidth: number; opacity: number }, y: object) {
  return {
    data: { values: rows },
    mark: { type: "line" as const, clip: true, ...style },
    encoding: {
      x: { field: "t", type: "quantitative" as const, title: "time (s)" },
      y,
      color: {
        field: "series",
        type: "nominal" as const,
        title: null,
        scale: { domain: ["planned", "measured"], range: ["#333333", "#1f77b4"] },
      },
      strokeDash: {
        field: "series",
        type: "nominal" as const,
        title: null,
        scale: { domain: ["planned", "measured"], range: [[6, 3], [1, 0]] },
      },
    },
  };
}

function panel(opts: {
  title: string;
  unit: string;
  rows: SeriesRow[];
  limitLow?: number;
  limitHigh?: number;
  events: EventMark[];
  width: number;
}) {
  const values = opts.rows.map((r) => r.value);
  const lo = minOf(values, Math.min(opts.limitLow ?? Infinity, 0));
  const hi = maxOf(values, Math.max(opts.limitHigh ?? -Infinity, 0));
  const pad = Math.max(5, (hi - lo) * 0.08);
  const domain: [number, number] = [Math.floor(lo - pad), Math.ceil(hi + pad)];
  const bands: { y: number; y2: number; band: string }[] = [];
  if (opts.limitHigh !== undefined) bands.push({ y: opts.limitHigh, y2: domain[1], band: `above limit ${opts.limitHigh} ${opts.unit}` });
  if (opts.limitLow !== undefined && opts.limitLow > domain[0]) bands.push({ y: domain[0], y2: opts.limitLow, band: `below limit ${opts.limitLow} ${opts.unit}` });
  const y = { field: "value", type: "quantitative" as const, title: `${opts.title} (${opts.unit})`, scale: { domain } };
  return {
    width: opts.width,
    height: 220,
    layer: [
      {
        data: { values: bands },
        mark: { type: "rect" as const, color: "#d62728", opacity: 0.12 },
        encoding: {
          y: { field: "y", type: "quantitative" as const, scale: { domain } },
          y2: { field: "y2" },
          description: { field: "band" },
        },
      },
      // Measured first, wide and translucent, so the planned dashes stay visible on top where they agree.
      line(opts.rows.filter((r) => r.series === "measured"), { strokeWidth: 3, opacity: 0.75 }, y),
      line(opts.rows.filter((r) => r.series === "planned"), { strokeWidth: 1.5, opacity: 1 }, y),
      {
        data: { values: opts.events },
        mark: { type: "rule" as const, color: "#ff7f0e", strokeDash: [2, 2] },
        encoding: { x: { field: "t", type: "quantitative" as const }, description: { field: "label" } },
      },
      {
        data: { values: opts.events.filter((e) => e.caption !== "") },
        mark: { type: "text" as const, angle: 270, align: "right" as const, baseline: "bottom" as const, dx: -4, dy: -2, fontSize: 9, color: "#ff7f0e" },
        encoding: {
          x: { field: "t", type: "quantitative" as const },
          y: { value: 0 },
          text: { field: "caption" },
        },
      },
    ],
  };
}

export function buildChartSpec(d: ReportData, opts: { width?: number; maxPoints?: number } = {}): TopLevelSpec {
  const width = opts.width ?? 720;
  const maxPoints = opts.maxPoints ?? 2000;
  const span = maxOf(d.planned.map((x) => x.t), maxOf(d.samples.map((x) => x.t), 1));
  const events = mergeClose(d.events.map((e) => ({ t: e.t, label: eventLabel(e) })), span * 0.015);
  const angleRows: SeriesRow[] = [
    ...thin(d.planned, maxPoints, (p) => p.tilt).map((p) => ({ t: p.t, value: p.tilt, series: "planned" as const })),
    ...thin(d.samples, maxPoints, (s) => s.tilt).map((s) => ({ t: s.t, value: s.tilt, series: "measured" as const })),
  ];
  const hasForce = d.samples.some((s) => (s.force ?? 0) !== 0) || d.planned.some((p) => p.force !== 0);
  // A stretcher's angle is a constant the device reports for want of an axis: a panel of it says nothing.
  const panels = d.limits.noTilt && hasForce ? [] : [panel({ title: "angle", unit: "°", rows: angleRows, limitLow: d.limits.tiltMin, limitHigh: d.limits.tiltMax, events, width })];
  if (hasForce) {
    const measuredForce = d.samples.flatMap((s) => (typeof s.force === "number" ? [{ t: s.t, value: s.force }] : []));
    const forceRows: SeriesRow[] = [
      ...thin(d.planned, maxPoints, (p) => p.force).map((p) => ({ t: p.t, value: p.force, series: "planned" as const })),
      ...thin(measuredForce, maxPoints, (s) => s.value).map((s) => ({ t: s.t, value: s.value, series: "measured" as const })),
    ];
    panels.push(panel({ title: "force", unit: "N", rows: forceRows, limitHigh: d.limits.forceMax, events, width }));
  }
  const s = d.session;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `Session ${s.id}: ${s.programName}`,
      subtitle: `${s.profileName ?? "no profile"} · ${s.startedAt.replace("T", " ").slice(0, 16)} UTC · ${s.outcome ?? "open"}${s.reason ? ` (${s.reason})` : ""}`,
    },
    background: "white",
    vconcat: panels,
    resolve: { scale: { color: "shared", strokeDash: "shared" } },
  } as TopLevelSpec;
}
