// Records a running session incrementally: the session row at start, events as they happen, telemetry
// in batches flushed at least every second (so a crash loses at most the last second), the outcome at
// the end. Recording must never endanger the session: a write failure (full disk, read-only directory)
// is reported once through onError, recording stops, and nothing is thrown into the session.
import type { Clock, TelemetryMsg, TimerHandle } from "../../protocol/index.js";
import type { Store } from "./db.js";
import type { NewSession, SampleRow, SessionOutcome, SessionRecord } from "./types.js";

/** The part of the session handle the recorder listens to (src/session's SessionHandle fits it). */
export interface RecordableSession {
  onSample(cb: (tlm: TelemetryMsg) => void): () => void;
  onEvent(cb: (e: unknown) => void): () => void;
  /** Snapshots; used to place the planned trajectory where the program actually started. */
  onUpdate?(cb: (s: unknown) => void): () => void;
  readonly done: Promise<unknown>;
}

export interface RecorderOptions {
  clock: Clock;
  /** Called at most once, with one line, when recording fails. */
  onError?: (line: string) => void;
  flushMs?: number;
  /** Buffer bound: flush early past this many samples. */
  maxBuffered?: number;
}

export interface Recorder {
  /** undefined when the session row could not be written. */
  readonly sessionId: number | undefined;
  readonly failed: boolean;
  /** Resolves once the outcome is stored (or recording has failed); never rejects. */
  readonly finished: Promise<SessionRecord | undefined>;
  flush(): void;
}

const OUTCOMES: readonly SessionOutcome[] = ["completed", "aborted", "fault", "refused"];

interface EventFields {
  kind: string;
  code?: string;
  severity?: string;
  msg?: string;
  discomfort?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Session events are plain objects; take the usual fields without depending on their exact type. */
export function eventFields(e: unknown): EventFields {
  const o = (e && typeof e === "object" ? e : {}) as Record<string, unknown>;
  const kind = str(o.kind) ?? str(o.type) ?? "event";
  const msg = str(o.msg) ?? str(o.message) ?? str(o.text);
  const isDiscomfort = kind === "discomfort" || str(o.code) === "DISCOMFORT";
  const named = /\b(pain|dizziness|other)\b/.exec(msg ?? "")?.[1];
  const dk = str(o.discomfort) ?? str(o.what) ?? str(o.detail) ?? (isDiscomfort ? named ?? msg ?? "other" : undefined);
  return { kind, code: str(o.code), severity: str(o.severity), msg, discomfort: isDiscomfort ? dk : undefined };
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  return typeof code === "string" && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

export function attachRecorder(store: Store, handle: RecordableSession, meta: NewSession, opts: RecorderOptions): Recorder {
  const { clock } = opts;
  const flushMs = opts.flushMs ?? 1000;
  const maxBuffered = opts.maxBuffered ?? 2000;
  const t0 = clock.now();
  const rel = () => (clock.now() - t0) / 1000;
  let failed = false;
  let sessionId: number | undefined;
  let buffer: SampleRow[] = [];
  let timer: TimerHandle | undefined;
  let lastDiscomfort: { kind: string; t: number } | undefined;
  const unsubs: (() => void)[] = [];

  const fail = (err: unknown, line = `session history not recorded (${describe(err)}); the session itself is unaffected`) => {
    if (failed) return;
    failed = true;
    buffer = [];
    clock.clearInterval(timer);
    try {
      opts.onError?.(line);
    } catch {
      // A broken reporter must not reach the session either.
    }
  };
  /** Runs a write; after the first failure nothing is written any more. */
  const write = (fn: (id: number) => void) => {
    if (failed || sessionId === undefined) return;
    try {
      fn(sessionId);
    } catch (err) {
      fail(err);
    }
  };

  /** Writes buffered samples and the heartbeat that tells other `invert` processes this session is live. */
  const flush = () => {
    const rows = buffer;
    buffer = [];
    write((id) =>
      store.db.transaction(() => {
        if (rows.length) store.sessions.addSamples(id, rows);
        store.sessions.heartbeat(id);
      })(),
    );
  };

  // A store opened read-only (read-only medium, full disk) says why: clearer than SQLite's "attempt to
  // write a readonly database", and nothing is attempted.
  if (store.readonlyReason !== undefined) {
    fail(undefined, `session history not recorded: ${store.readonlyReason}; the session itself is unaffected`);
  } else {
    try {
      sessionId = store.db.transaction(() => {
        const id = store.sessions.begin(meta);
        store.sessions.claim(id);
        return id;
      })();
    } catch (err) {
      fail(err);
    }
  }

  if (!failed) {
    timer = clock.setInterval(flush, flushMs);
    unsubs.push(
      handle.onSample((tlm) => {
        if (failed) return;
        buffer.push({ t: rel(), devT: tlm.t, tilt: tlm.tilt, tilt2: tlm.tilt2, vel: tlm.vel, force: tlm.force ?? null, current: tlm.current, mode: tlm.mode });
        if (buffer.length >= maxBuffered) flush();
      }),
      handle.onEvent((e) => {
        const f = eventFields(e);
        const atS = (e as { atS?: unknown } | null)?.atS;
        const t = typeof atS === "number" && Number.isFinite(atS) ? atS : rel();
        write((id) =>
          store.db.transaction(() => {
            store.sessions.addEvent(id, { t, kind: f.kind, code: f.code, severity: f.severity, msg: f.msg, json: e });
            // One user input shows up as several events (the input, the note, the reaction): one report.
            const repeat = lastDiscomfort && lastDiscomfort.kind === f.discomfort && t - lastDiscomfort.t < 2;
            if (f.discomfort !== undefined && !repeat) {
              store.sessions.addDiscomfort(id, { t, kind: f.discomfort, reportedAt: store.now().toISOString() });
              lastDiscomfort = { kind: f.discomfort, t };
            }
          })(),
        );
      }),
    );
    if (handle.onUpdate) {
      let placed = false;
      const off = handle.onUpdate((snap) => {
        const o = (snap && typeof snap === "object" ? snap : {}) as Record<string, unknown>;
        if (placed || o.phase !== "running" || typeof o.elapsedS !== "number" || typeof o.programS !== "number") return;
        placed = true;
        const offsetS = o.elapsedS - o.programS;
        write((id) => store.sessions.setPlannedOffset(id, offsetS));
      });
      unsubs.push(off);
    }
  }

  const stop = () => {
    clock.clearInterval(timer);
    for (const u of unsubs.splice(0)) u();
  };

  const finished = handle.done.then(
    (summary) => {
      flush();
      stop();
      const s = (summary && typeof summary === "object" ? summary : {}) as Record<string, unknown>;
      const outcome = OUTCOMES.find((o) => o === s.outcome) ?? "aborted";
      // The summary names the discomfort (a kind, or true) even when no event carried it.
      const discomfort = s.discomfort === true || (typeof s.discomfort === "string" && s.discomfort !== "");
      const discomfortKind = str(s.discomfortKind) ?? str(s.discomfort) ?? "other";
      write((id) =>
        store.db.transaction(() => {
          if (s.limits !== undefined) store.sessions.setPlan(id, s.limits, undefined);
          if (discomfort && !lastDiscomfort) {
            store.sessions.addDiscomfort(id, { t: rel(), kind: discomfortKind, reportedAt: store.now().toISOString() });
          }
          store.sessions.end(id, outcome, { reason: str(s.reason), summary, discomfort });
        })(),
      );
      if (failed && sessionId !== undefined) {
        // Recording stopped mid-session (a full disk): the ending alone is one small update, and it is
        // what the ramp-up reads (the outcome, and above all a discomfort). One more try.
        try {
          store.sessions.end(sessionId, outcome, { reason: str(s.reason), discomfort });
          return store.sessions.find(sessionId);
        } catch {
          // Still full: said below when it matters.
        }
      }
      if (failed && discomfort) {
        try {
          opts.onError?.(`the discomfort was not recorded, so the ramp-up cannot step back on its own: choose a lower angle for the next session`);
        } catch {
          // A broken reporter must not reach the session either.
        }
      }
      return failed || sessionId === undefined ? undefined : store.sessions.find(sessionId);
    },
    (err: unknown) => {
      flush();
      stop();
      write((id) => store.sessions.end(id, "aborted", { reason: `session error: ${describe(err)}` }));
      return failed || sessionId === undefined ? undefined : store.sessions.find(sessionId);
    },
  ).catch((err: unknown) => {
    fail(err);
    return undefined;
  });

  return {
    get sessionId() {
      return sessionId;
    },
    get failed() {
      return failed;
    },
    finished,
    flush,
  };
}
