// The production BridgeDevice: a device connection (serial or MQTT) plus the session controller.
// Every motion goes through startSession, which computes the effective limits (device, profile,
// program) and checks the plan before anything moves; the bridge never sends raw motion commands.
// The only raw command is `return`, which asks the firmware for its own slow return to upright.
//
// The link and session are described structurally (the shapes agreed in notes on the module APIs), so
// this file depends only on what it uses and tests can wire the real modules in.
import type { AckMsg, CapsMsg, Clock, TelemetryMsg, TimerHandle } from "../../protocol/index.js";
import type { ActionResult, BridgeDevice, DeviceInfo, DeviceState, LinkState, StartRequest } from "./device.js";
import { emptyState } from "./device.js";

export interface LinkLike {
  caps: CapsMsg | undefined;
  readonly status: string;
  handshake(): Promise<CapsMsg>;
  command(body: { type: "return" } | { type: "clear"; code: string }): Promise<AckMsg>;
  onTelemetry(cb: (t: TelemetryMsg) => void): () => void;
  onLink(cb: (e: { type: string; status?: string }) => void): () => void;
}

export interface ConnectionLike<L extends LinkLike = LinkLike> {
  link: L;
  clock: Clock;
  close(): Promise<void>;
}

export interface SessionLike {
  /** False when the session could not take it (nothing to pause, a return under way). */
  pause(): boolean | void;
  resume(): boolean | void;
  stop(): void;
  discomfort(kind: "pain" | "dizziness" | "other"): void;
  snapshot(): unknown;
  /** Ends the session without waiting for the return: sends stop and the firmware's own return. */
  abandon?(reason?: string): void;
  onUpdate(cb: (s: unknown) => void): () => void;
  /** Transitions only, without the per-sample updates (the device state follows telemetry itself). */
  onStateChange?(cb: (s: unknown) => void): () => void;
  done: Promise<{ outcome: string; reason?: string; program: string }>;
}

export interface ProgramLike {
  name: string;
}

export interface SessionDeviceDeps<L extends LinkLike, P extends ProgramLike, S extends SessionLike = SessionLike> {
  open(uri: string): Promise<ConnectionLike<L>>;
  /** Resolves a built-in name or validates an inline program; throws with a one-line reason. */
  program(spec: unknown): P;
  /**
   * What a named user profile may run now (screening, ramp-up cap, soft limits); throws with a one-line
   * reason when it may not. `program` is undefined when the request names none (the ramp-up step runs).
   * The returned `started` hook is given the session handle (for recording).
   */
  prepareProfile?(name: string, program: P | undefined): { program: P; profileLimits: Record<string, number>; started?(s: S): void };
  startSession(opts: { link: L; clock: Clock; program: P; profileLimits?: Record<string, number> }): S;
  clock: Clock;
  /** Limits from the bridge config for this device (applied as the strictest with the profile's). */
  limits?: Record<string, number | undefined>;
  log?: (msg: string) => void;
  /** Back-off between reconnect attempts. */
  retryMs?: { min: number; max: number };
  /**
   * Bounds how many devices connect and handshake at once: a bridge starting with a thousand devices must
   * not starve the heartbeats of the links already up (a late heartbeat trips the device watchdog).
   */
  gate?<T>(fn: () => Promise<T>): Promise<T>;
  /** How long a start waits for the session to leave preflight before answering. */
  startAnswerMs?: number;
  /**
   * Bounds how many sessions start at once across the process (each start is a handshake, a preflight
   * and the limits exchange): a burst of a thousand starts then queues instead of piling that work into
   * a few event-loop turns and delaying every running session's heartbeats. Stop, discomfort and return
   * cancel a start still queued.
   */
  startGate?<T>(fn: () => Promise<T>): Promise<T>;
}

interface QueuedStart {
  /** Why it must not run after all. */
  cancelled?: string;
}

const TERMINAL = new Set(["completed", "aborted", "fault", "refused"]);
const WAITING = new Set(["idle", "disconnected", "handshaking", "ready", "preflight", "connecting", "starting"]);

/** Reads a phase name out of the controller's snapshot, whatever its exact shape. */
export function phaseOf(snapshot: unknown): string {
  if (snapshot && typeof snapshot === "object") {
    const s = snapshot as Record<string, unknown>;
    for (const k of ["phase", "state", "value"]) {
      const v = s[k];
      if (typeof v === "string") return v;
      if (v && typeof v === "object") {
        // Nested XState value {running: "hold"} -> "running.hold"
        const [k0, v0] = Object.entries(v as Record<string, unknown>)[0] ?? [];
        if (typeof k0 === "string") return typeof v0 === "string" ? `${k0}.${v0}` : k0;
      }
    }
  }
  return "unknown";
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function strictest(a: Record<string, number | undefined> | undefined, b: Record<string, number> | undefined): Record<string, number> | undefined {
  if (!a && !b) return undefined;
  const out: Record<string, number> = {};
  for (const src of [a ?? {}, b ?? {}]) {
    for (const [k, v] of Object.entries(src)) {
      if (typeof v !== "number") continue;
      const cur = out[k];
      out[k] = cur === undefined ? v : k === "tiltMin" ? Math.max(cur, v) : Math.min(cur, v);
    }
  }
  return out;
}

export class SessionDevice<L extends LinkLike, P extends ProgramLike, S extends SessionLike = SessionLike> implements BridgeDevice {
  private conn?: ConnectionLike<L>;
  private session?: SessionLike;
  private st: DeviceState = emptyState();
  private readonly cbs = new Set<(urgent: boolean) => void>();
  private offs: (() => void)[] = [];
  private closed = false;
  private retry?: TimerHandle;
  private backoff: number;
  private selected?: string;
  private starting = false;
  /** A start waiting for its turn at the start gate (see SessionDeviceDeps.startGate). */
  private queued?: QueuedStart;

  constructor(
    readonly id: string,
    private readonly uri: string,
    private readonly deps: SessionDeviceDeps<L, P, S>,
  ) {
    this.backoff = deps.retryMs?.min ?? 500;
    void this.connect();
  }

  info(): DeviceInfo | undefined {
    const caps = this.conn?.link.caps;
    if (!caps) return undefined;
    return { model: caps.model, fw: caps.fw, axes: { tilt: caps.axes.tilt !== undefined, traction: caps.axes.traction !== undefined } };
  }

  state(): DeviceState {
    return this.st;
  }

  onChange(cb: (urgent: boolean) => void): () => void {
    this.cbs.add(cb);
    return () => this.cbs.delete(cb);
  }

  private set(patch: Partial<DeviceState>, urgent: boolean): void {
    this.st = { ...this.st, ...patch };
    for (const cb of this.cbs) cb(urgent);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    this.set({ link: "connecting" }, true);
    try {
      const gate = this.deps.gate ?? (<T>(fn: () => Promise<T>) => fn());
      const conn = await gate(async () => {
        const c = await this.deps.open(this.uri);
        this.conn = c;
        if (!this.closed && !c.link.caps) await c.link.handshake();
        return c;
      });
      if (this.closed) {
        await this.dropConnection();
        return;
      }
      this.backoff = this.deps.retryMs?.min ?? 500;
      this.offs.push(conn.link.onTelemetry((t) => this.onTelemetry(t)));
      this.offs.push(conn.link.onLink((e) => {
        if (e.type === "status" && e.status) this.onLinkStatus(e.status);
        else if (e.type === "restored") this.onLinkStatus("up");
      }));
      this.onLinkStatus(conn.link.status);
    } catch (e) {
      this.deps.log?.(`${this.id}: cannot open ${this.uri}: ${(e as Error).message}`);
      await this.dropConnection();
      this.scheduleReconnect();
    }
  }

  private onLinkStatus(s: string): void {
    const link: LinkState = s === "up" ? "online" : s === "handshaking" || s === "idle" ? "connecting" : "offline";
    if (link !== this.st.link) this.set({ link }, true);
    if (s === "closed" && !this.closed) {
      void this.dropConnection().then(() => this.scheduleReconnect());
    }
  }

  private async dropConnection(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    const c = this.conn;
    this.conn = undefined;
    if (c) await c.close().catch(() => undefined);
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retry) return;
    this.set({ link: "offline" }, true);
    const wait = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.deps.retryMs?.max ?? 10_000);
    this.retry = this.deps.clock.setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, wait);
  }

  private onTelemetry(t: TelemetryMsg): void {
    const st = this.st;
    const phase = this.session ? st.phase : t.mode === "returning" ? "device-return" : st.phase === "device-return" ? "idle" : st.phase;
    const angle = Math.round(t.tilt * 10) / 10;
    const force = t.force === undefined ? null : Math.round(t.force);
    // Most samples change nothing the state shows: no new object, no listeners, no rate-limit timer.
    if (angle === st.angle && force === st.force && t.mode === st.mode && t.sw === st.stop_switch && t.lock === st.ankle_lock && phase === st.phase && sameList(t.faults, st.faults)) return;
    this.set({ angle, force, mode: t.mode, stop_switch: t.sw, ankle_lock: t.lock, faults: t.faults, phase }, phase !== st.phase || t.mode !== st.mode);
  }

  async start(req: StartRequest): Promise<ActionResult> {
    const link = this.conn?.link;
    if (!link || this.st.link !== "online") return { ok: false, reason: `device ${this.id} is not connected (link ${this.st.link})` };
    if (this.session || this.starting) return { ok: false, reason: `busy: a session is already running on ${this.id} (stop it first)` };
    if (req.program === undefined && req.profile === undefined) return { ok: false, reason: "program: required (or select one first, or name a profile)" };
    let program: P | undefined;
    let profile: Record<string, number> | undefined;
    let started: ((s: S) => void) | undefined;
    try {
      if (req.program !== undefined) program = this.deps.program(req.program);
      if (req.profile !== undefined) {
        if (!this.deps.prepareProfile) return { ok: false, reason: "profile: profiles are not available on this bridge" };
        const prep = this.deps.prepareProfile(req.profile, program);
        program = prep.program;
        profile = prep.profileLimits;
        started = prep.started;
      }
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
    if (program === undefined) return { ok: false, reason: "program: required" };
    this.starting = true;
    const ticket: QueuedStart = {};
    this.queued = ticket;
    const gate = this.deps.startGate ?? (<T>(fn: () => Promise<T>) => fn());
    try {
      return await gate(async () => {
        // While it waited its turn: a stop, a discomfort report or a return request cancels it, and the
        // link may have gone.
        if (ticket.cancelled !== undefined) return { ok: false, reason: `start cancelled: ${ticket.cancelled} before the session started` };
        const now = this.conn?.link;
        if (this.closed || !now || this.st.link !== "online") return { ok: false, reason: `device ${this.id} is not connected (link ${this.st.link})` };
        return await this.launch(now, program, profile, req.profile, started);
      });
    } finally {
      this.starting = false;
      if (this.queued === ticket) this.queued = undefined;
    }
  }

  /** Marks a start still waiting for its turn as cancelled; true if there was one. */
  private cancelQueued(why: string): boolean {
    if (!this.queued) return false;
    this.queued.cancelled = why;
    return true;
  }

  private async launch(link: L, program: P, profile: Record<string, number> | undefined, profileName: string | undefined, started: ((s: S) => void) | undefined): Promise<ActionResult> {
    let session: S;
    try {
      session = this.deps.startSession({ link, clock: this.conn!.clock, program, profileLimits: strictest(this.deps.limits, profile) });
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
    this.queued = undefined;
    this.session = session;
    try {
      started?.(session);
    } catch (e) {
      this.deps.log?.(`${this.id}: recording not started: ${(e as Error).message}`);
    }
    this.set({ program: program.name, profile: profileName ?? null, phase: phaseOf(session.snapshot()), outcome: undefined, reason: undefined }, true);
    // The phase changes only on transitions; telemetry reaches the state through the link (onTelemetry).
    const follow = (cb: (s: unknown) => void) => (session.onStateChange ? session.onStateChange(cb) : session.onUpdate(cb));
    const offUpdate = follow((snap) => {
      const phase = phaseOf(snap);
      if (phase !== this.st.phase && this.session === session) {
        const s = snap as { outcome?: unknown; reason?: unknown };
        const reason = typeof s.reason === "string" ? s.reason : undefined;
        // While returning, the reason is shown too: whoever watches the table must see why it is coming back.
        const ending = TERMINAL.has(phase) ? { outcome: String(s.outcome ?? phase), reason } : phase.startsWith("returning") ? { reason } : {};
        this.set({ phase, ...ending }, true);
      }
    });
    const name = program.name;
    const finished = session.done.then(
      (sum) => sum,
      (e: unknown) => ({ outcome: "fault", reason: (e as Error).message, program: name }),
    );
    void finished.then((sum) => {
      offUpdate();
      if (this.session === session) this.session = undefined;
      this.set({ phase: sum.outcome, outcome: sum.outcome, reason: sum.reason }, true);
    });
    // Answer once the session is under way or refused (preflight failures name the limit), bounded.
    const answer = await new Promise<ActionResult>((resolve) => {
      const clock = this.deps.clock;
      let timer: TimerHandle | undefined;
      let off = () => {};
      const finish = (r: ActionResult) => {
        clock.clearTimeout(timer);
        off();
        resolve(r);
      };
      timer = clock.setTimeout(() => finish({ ok: true, data: { phase: this.st.phase } }), this.deps.startAnswerMs ?? 3000);
      off = follow((snap) => {
        const ph = phaseOf(snap);
        if (!WAITING.has(ph) && !TERMINAL.has(ph)) finish({ ok: true, data: { phase: ph } });
      });
      void finished.then((sum) =>
        finish(sum.outcome === "completed" ? { ok: true, data: { phase: "completed" } } : { ok: false, reason: `${sum.outcome}: ${sum.reason ?? "session ended"}` }),
      );
    });
    return answer;
  }

  private withSession(what: string, fn: (s: SessionLike) => boolean | void): ActionResult {
    const s = this.session;
    if (!s) return { ok: false, reason: `no session is running on ${this.id}` };
    try {
      // Never "ok" for an input the session did not act on: the sender would believe the table holds.
      if (fn(s) === false) return { ok: false, reason: `${what}: not possible now (session ${this.st.phase})` };
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: `${what}: ${(e as Error).message}` };
    }
  }

  pause(): ActionResult {
    // A start still waiting its turn has moved nothing: cancelling it is the pause that was asked for.
    if (!this.session && this.cancelQueued("paused")) return { ok: true, data: { note: "start cancelled before the session started" } };
    return this.withSession("pause", (s) => s.pause());
  }

  resume(): ActionResult {
    return this.withSession("resume", (s) => s.resume());
  }

  stop(): ActionResult {
    if (!this.session) return { ok: true, data: { note: this.cancelQueued("stopped") ? "start cancelled before the session started" : "no session running" } };
    return this.withSession("stop", (s) => s.stop());
  }

  discomfort(kind: "pain" | "dizziness" | "other"): ActionResult {
    if (!this.session) return { ok: true, data: { note: this.cancelQueued(`discomfort (${kind}) reported`) ? "start cancelled before the session started" : "no session running" } };
    return this.withSession("discomfort", (s) => s.discomfort(kind));
  }

  async returnUpright(): Promise<ActionResult> {
    if (this.session) return this.stop();
    this.cancelQueued("return requested");
    const link = this.conn?.link;
    if (!link) return { ok: false, reason: `device ${this.id} is not connected (its watchdog returns it upright on its own)` };
    try {
      const ack = await link.command({ type: "return" });
      return ack.result === "rejected" || ack.result === "failed" ? { ok: false, reason: `device: ${ack.reason ?? ack.result}` } : { ok: true, data: { ack: ack.result } };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }

  async clear(code?: string): Promise<ActionResult> {
    const link = this.conn?.link;
    if (!link || this.st.link !== "online") return { ok: false, reason: `device ${this.id} is not connected (link ${this.st.link})` };
    if (this.session || this.starting) return { ok: false, reason: `busy: a session is running on ${this.id}` };
    const codes = code ? [code] : this.st.faults;
    if (codes.length === 0) return { ok: true, data: { cleared: [] } };
    const cleared: string[] = [];
    for (const c of codes) {
      try {
        const ack = await link.command({ type: "clear", code: c });
        if (ack.result !== "accepted" && ack.result !== "done") return { ok: false, reason: `clear ${c}: device ${ack.result}${ack.reason ? `: ${ack.reason}` : ""}`, };
        cleared.push(c);
      } catch (e) {
        return { ok: false, reason: `clear ${c}: ${(e as Error).message}` };
      }
    }
    return { ok: true, data: { cleared } };
  }

  select(program: string): ActionResult {
    try {
      const p = this.deps.program(program);
      this.selected = p.name;
      if (!this.session) this.set({ program: p.name }, true);
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
  }

  get selectedProgram(): string | undefined {
    return this.selected;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelQueued("bridge shutting down");
    this.deps.clock.clearTimeout(this.retry);
    const s = this.session;
    if (s) {
      s.stop();
      // The slow return runs on the device; wait for the session to end, bounded, before dropping the link.
      const ended = await Promise.race([s.done.then(() => true, () => true), new Promise<boolean>((r) => this.deps.clock.setTimeout(() => r(false), 2000))]);
      // Still returning: hand the return over to the firmware explicitly before the link goes.
      if (!ended) s.abandon?.("bridge shutting down");
    }
    await this.dropConnection();
    this.set({ link: "offline" }, true);
  }
}
