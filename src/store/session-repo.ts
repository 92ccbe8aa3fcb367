// Sessions and what they produce. Writes are small and synchronous so the recorder can batch them
// into one transaction per flush.
import type Database from "better-sqlite3";
import { hostname } from "node:os";
import { StoreError } from "./errors.js";
import { fromJson, toJson } from "./json-col.js";
import type {
  DiscomfortRow,
  EventRow,
  NewSession,
  SampleRow,
  SessionKind,
  SessionListItem,
  SessionOutcome,
  SessionRecord,
} from "./types.js";

interface SessionDbRow {
  id: number;
  profile_id: number | null;
  profile_name: string | null;
  kind: string;
  program_name: string;
  program_json: string;
  limits_json: string | null;
  planned_json: string | null;
  target_angle: number | null;
  minutes: number | null;
  device: string | null;
  outcome: string | null;
  reason: string | null;
  discomfort: number;
  started_at: string;
  ended_at: string | null;
  summary_json: string | null;
}

const OUTCOMES: readonly SessionOutcome[] = ["completed", "aborted", "fault", "refused"];

function base(r: SessionDbRow) {
  return {
    id: r.id,
    profileId: r.profile_id,
    profileName: r.profile_name,
    kind: (r.kind === "rampup" ? "rampup" : "program") as SessionKind,
    programName: r.program_name,
    targetAngle: r.target_angle,
    minutes: r.minutes,
    device: r.device,
    outcome: OUTCOMES.find((o) => o === r.outcome) ?? null,
    reason: r.reason,
    discomfort: r.discomfort === 1,
    startedAt: r.started_at,
    endedAt: r.ended_at,
  };
}

function toSession(r: SessionDbRow): SessionRecord {
  return {
    ...base(r),
    program: fromJson(r.program_json),
    limits: fromJson(r.limits_json),
    planned: fromJson(r.planned_json),
    summary: fromJson(r.summary_json),
  };
}

export const COMPANION_STOPPED = "companion stopped";

export interface SessionOwner {
  pid: number;
  host: string;
}

/** An owner silent for this long is gone even if its pid now belongs to another process. */
export const HEARTBEAT_STALE_MS = 60_000;

export function thisProcess(): SessionOwner {
  return { pid: process.pid, host: hostname() };
}

/** Only a process on this host can be checked; a database shared across hosts relies on the heartbeat. */
export function processAlive(owner: SessionOwner): boolean {
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class SessionRepo {
  constructor(
    private readonly db: Database.Database,
    private readonly now: () => Date,
  ) {}

  begin(s: NewSession): number {
    const info = this.db
      .prepare(
        `INSERT INTO sessions (profile_id, profile_name, kind, program_name, program_json, limits_json, planned_json,
           target_angle, minutes, device, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        s.profileId ?? null,
        s.profileName ?? null,
        s.kind,
        s.programName,
        toJson(s.program) ?? "null",
        toJson(s.limits),
        toJson(s.planned),
        s.targetAngle ?? null,
        s.minutes ?? null,
        s.device ?? null,
        s.startedAt ?? this.now().toISOString(),
      );
    return Number(info.lastInsertRowid);
  }

  /** Limits and the planned trajectory are often known only once the session has checked them. */
  setPlan(id: number, limits: unknown, planned: unknown): void {
    this.db.prepare(`UPDATE sessions SET limits_json = COALESCE(?, limits_json), planned_json = COALESCE(?, planned_json) WHERE id = ?`)
      .run(toJson(limits), toJson(planned), id);
  }

  /** Seconds from session start to program start, so the planned trajectory lines up with telemetry. */
  setPlannedOffset(id: number, offsetS: number): void {
    this.db
      .prepare(`UPDATE sessions SET planned_json = json_set(planned_json, '$.offsetS', ?) WHERE id = ? AND json_type(planned_json) = 'object'`)
      .run(offsetS, id);
  }

  end(id: number, outcome: SessionOutcome, opts: { reason?: string; summary?: unknown; discomfort?: boolean; endedAt?: string } = {}): void {
    this.db
      .prepare(
        `UPDATE sessions SET outcome = ?, reason = ?, summary_json = ?, ended_at = ?,
           discomfort = MAX(discomfort, ?) WHERE id = ?`,
      )
      .run(outcome, opts.reason ?? null, toJson(opts.summary), opts.endedAt ?? this.now().toISOString(), opts.discomfort ? 1 : 0, id);
  }

  /** Marks an open session as recorded by this process, alive as of now. */
  claim(id: number, owner: SessionOwner = thisProcess()): void {
    this.db
      .prepare(`UPDATE sessions SET owner_pid = ?, owner_host = ?, heartbeat_at = ? WHERE id = ?`)
      .run(owner.pid, owner.host, this.now().toISOString(), id);
  }

  heartbeat(id: number): void {
    this.db.prepare(`UPDATE sessions SET heartbeat_at = ? WHERE id = ?`).run(this.now().toISOString(), id);
  }

  /**
   * Sessions a crash left open become aborted; returns how many. A session still being recorded (its
   * process alive on this host, heartbeat recent) is left alone: another `invert` is running it.
   */
  closeOpen(reason = COMPANION_STOPPED, alive: (owner: SessionOwner) => boolean = processAlive): number {
    const nowMs = this.now().getTime();
    const open = this.db.prepare(`SELECT id, owner_pid, owner_host, heartbeat_at FROM sessions WHERE outcome IS NULL`).all() as {
      id: number; owner_pid: number | null; owner_host: string | null; heartbeat_at: string | null;
    }[];
    const close = this.db.prepare(`UPDATE sessions SET outcome = 'aborted', reason = ?, ended_at = ? WHERE id = ? AND outcome IS NULL`);
    let n = 0;
    for (const o of open) {
      const fresh = o.heartbeat_at !== null && nowMs - Date.parse(o.heartbeat_at) < HEARTBEAT_STALE_MS;
      if (o.owner_pid !== null && o.owner_host !== null && fresh && alive({ pid: o.owner_pid, host: o.owner_host })) continue;
      n += close.run(reason, new Date(nowMs).toISOString(), o.id).changes;
    }
    return n;
  }

  addSamples(id: number, rows: readonly SampleRow[]): void {
    const ins = this.db.prepare(
      `INSERT INTO samples (session_id, t, dev_t, tilt, tilt2, vel, force, current, mode) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const r of rows) ins.run(id, r.t, r.devT ?? null, r.tilt, r.tilt2, r.vel, r.force ?? null, r.current, r.mode);
  }

  addEvent(id: number, e: EventRow): void {
    this.db
      .prepare(`INSERT INTO events (session_id, t, kind, code, severity, msg, json) VALUES (?, ?, ?, ?, ?, ?, ?)`)
      .run(id, e.t, e.kind, e.code ?? null, e.severity ?? null, e.msg ?? null, toJson(e.json) ?? "null");
  }

  addDiscomfort(id: number, d: DiscomfortRow): void {
    this.db.prepare(`INSERT INTO discomfort_reports (session_id, t, kind, reported_at) VALUES (?, ?, ?, ?)`).run(id, d.t, d.kind, d.reportedAt);
    this.db.prepare(`UPDATE sessions SET discomfort = 1 WHERE id = ?`).run(id);
  }

  find(id: number): SessionRecord | undefined {
    const r = this.db.prepare(`SELECT * FROM sessions WHERE id = ?`).get(id) as SessionDbRow | undefined;
    return r ? toSession(r) : undefined;
  }

  get(id: number): SessionRecord {
    const s = this.find(id);
    if (!s) throw new StoreError(`unknown session ${id} (see \`invert history\`)`);
    return s;
  }

  /** Oldest first, which is the order progression rules read them in. */
  list(opts: { profileId?: number } = {}): SessionListItem[] {
    const where = opts.profileId === undefined ? "" : "WHERE s.profile_id = ?";
    const rows = this.db
      .prepare(
        `SELECT s.*, (SELECT COUNT(*) FROM samples x WHERE x.session_id = s.id) AS n,
           (SELECT MAX(tilt) FROM samples x WHERE x.session_id = s.id) AS max_tilt,
           (SELECT MAX(force) FROM samples x WHERE x.session_id = s.id) AS max_force
         FROM sessions s ${where} ORDER BY s.started_at, s.id`,
      )
      .all(...(opts.profileId === undefined ? [] : [opts.profileId])) as (SessionDbRow & { n: number; max_tilt: number | null; max_force: number | null })[];
    return rows.map((r) => ({ ...base(r), samples: r.n, measuredMaxAngle: r.max_tilt, measuredMaxForce: r.max_force }));
  }

  samples(id: number): SampleRow[] {
    const rows = this.db
      .prepare(`SELECT t, dev_t, tilt, tilt2, vel, force, current, mode FROM samples WHERE session_id = ? ORDER BY t, id`)
      .all(id) as { t: number; dev_t: number | null; tilt: number; tilt2: number; vel: number; force: number | null; current: number; mode: string }[];
    return rows.map((r) => ({ t: r.t, devT: r.dev_t, tilt: r.tilt, tilt2: r.tilt2, vel: r.vel, force: r.force, current: r.current, mode: r.mode }));
  }

  events(id: number): EventRow[] {
    const rows = this.db.prepare(`SELECT t, kind, code, severity, msg, json FROM events WHERE session_id = ? ORDER BY t, id`).all(id) as {
      t: number; kind: string; code: string | null; severity: string | null; msg: string | null; json: string;
    }[];
    return rows.map((r) => ({ ...r, json: fromJson(r.json) }));
  }

  discomfortReports(id: number): DiscomfortRow[] {
    const rows = this.db.prepare(`SELECT t, kind, reported_at FROM discomfort_reports WHERE session_id = ? ORDER BY t, id`).all(id) as {
      t: number; kind: string; reported_at: string;
    }[];
    return rows.map((r) => ({ t: r.t, kind: r.kind, reportedAt: r.reported_at }));
  }
}
