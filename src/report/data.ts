// Everything a report needs about one session, read from the store and normalised: stored JSON columns
// (planned trajectory, limits) come back as unknown and are read defensively, since old rows or a
// crash may have left them empty.
import type { EventRow, SampleRow, SessionRecord, Store } from "../store/index.js";
import { StoreError } from "../store/index.js";

export interface PlannedPoint {
  t: number;
  tilt: number;
  force: number;
}

export interface ReportLimits {
  tiltMin?: number;
  tiltMax?: number;
  forceMax?: number;
  /** The device had no tilt axis (a back stretcher): no angle to show at all. */
  noTilt?: true;
}

export interface ReportData {
  session: SessionRecord;
  samples: SampleRow[];
  events: EventRow[];
  planned: PlannedPoint[];
  limits: ReportLimits;
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** Accepts `{ points: [...], offsetS? }` (what session-setup and the recorder store) or a bare array of points. */
export function readPlanned(v: unknown): PlannedPoint[] {
  const arr = Array.isArray(v) ? v : v && typeof v === "object" && Array.isArray((v as { points?: unknown }).points) ? (v as { points: unknown[] }).points : [];
  const offset = v && typeof v === "object" && !Array.isArray(v) ? num((v as { offsetS?: unknown }).offsetS) ?? 0 : 0;
  const out: PlannedPoint[] = [];
  for (const p of arr) {
    if (!p || typeof p !== "object") continue;
    const o = p as Record<string, unknown>;
    const t = num(o.t);
    const tilt = num(o.tilt);
    if (t === undefined || tilt === undefined) continue;
    out.push({ t: t + offset, tilt, force: num(o.force) ?? 0 });
  }
  return out;
}

/**
 * The session's effective limits carry 0 for the fields of an axis the device lacks (a stretcher's
 * tiltMax, a plain table's forceMax): no limit to show, and shown as one they would mark the whole
 * panel as beyond it.
 */
export function readLimits(v: unknown): ReportLimits {
  if (!v || typeof v !== "object") return {};
  const o = v as Record<string, unknown>;
  const axes = o.axes && typeof o.axes === "object" ? (o.axes as Record<string, unknown>) : {};
  const tilt = axes.tilt !== false;
  const traction = axes.traction !== false;
  return {
    tiltMin: tilt ? num(o.tiltMin) : undefined,
    tiltMax: tilt ? num(o.tiltMax) : undefined,
    forceMax: traction ? num(o.forceMax) : undefined,
    ...(tilt ? {} : { noTilt: true as const }),
  };
}

/** `SESSION` on the command line: a session id, or `last` (optionally of one profile). */
export function resolveSessionId(store: Store, arg: string, profileId?: number): number {
  if (arg === "last") {
    const all = store.sessions.list(profileId === undefined ? {} : { profileId });
    const last = all[all.length - 1];
    if (!last) throw new StoreError("no sessions recorded yet");
    return last.id;
  }
  if (!/^\d+$/.test(arg)) throw new StoreError(`SESSION: "${arg}" is not a session id (a number from \`invert history\`, or "last")`);
  return Number(arg);
}

export function loadReportData(store: Store, id: number): ReportData {
  const session = store.sessions.get(id);
  return {
    session,
    samples: store.sessions.samples(id),
    events: store.sessions.events(id),
    planned: readPlanned(session.planned),
    limits: readLimits(session.limits),
  };
}
