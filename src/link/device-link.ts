// The companion's end of one device link: hello/caps handshake with a version check, heartbeats well
// inside the device watchdog, commands with ids, ack timeouts and retries with the same id (the device
// acts on an id once), link quality counters, telemetry staleness, reboot and link-loss detection, and a
// re-handshake when the link returns. It never re-sends motion on its own after a loss: resuming is the
// session's decision, and the session never resumes without a new start.
//
// The core is callback based and runs entirely on the injected Clock, so a session on a VirtualClock
// stays in lockstep with the simulator; the promise methods are conveniences on top.
import {
  ACK_RETRIES,
  ACK_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_TLM_HZ,
  DEFAULT_WATCHDOG_MS,
  PROTO_VERSION,
  Sequencer,
  type AckMsg,
  type AnyMsg,
  type CapsMsg,
  type Clock,
  type ClearMsg,
  type DropCounters,
  type DropReason,
  type EventMsg,
  type ForceMsg,
  type LimitsMsg,
  type MessageTransport,
  type MoveMsg,
  type Outgoing,
  type ReturnMsg,
  type StopMsg,
  type TelemetryMsg,
  type TimerHandle,
} from "../../protocol/index.js";

type Cmd = MoveMsg | ForceMsg | StopMsg | ReturnMsg | LimitsMsg | ClearMsg;
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
/** A command as the session builds it: the link adds the id, `v` and `seq`. */
export type CommandBody = WithoutId<Outgoing<Cmd>>;

export type LinkStatus = "idle" | "handshaking" | "up" | "lost" | "closed";

export class LinkError extends Error {
  override readonly name = "LinkError";
  constructor(
    message: string,
    readonly code: "no-ack" | "handshake-timeout" | "incompatible" | "closed" | "superseded" | "rebooted",
  ) {
    super(message);
  }
}

export interface LinkQuality {
  status: LinkStatus;
  rxFrames: number;
  txFrames: number;
  drops: DropCounters;
  /** Attempts that got no ack in time (each retry of one command counts). */
  lostAcks: number;
  retries: number;
  /** Commands that got no ack after every retry. */
  failedCommands: number;
  /** Round trip of the latest command acked on its first send; retried commands give no sample. */
  rttLastMs: number | undefined;
  /** Mean round trip over the commands acked on their first send. */
  rttAvgMs: number | undefined;
  /** Milliseconds since the last telemetry frame (undefined before the first). */
  tlmAgeMs: number | undefined;
  /** True when telemetry is older than 2.5 periods. */
  stale: boolean;
  reboots: number;
  losses: number;
}

export type LinkEvent =
  | { type: "status"; status: LinkStatus; reason: string }
  | { type: "reboot"; caps: CapsMsg; previousBoot: string | undefined }
  | { type: "restored"; caps: CapsMsg; rebooted: boolean };

export interface CommandCallbacks {
  /** Every ack for this id: "accepted" first (for motion), then "done"; or one final result. */
  onAck?(ack: AckMsg): void;
  /** No ack after all retries, or the link closed first. */
  onNoAck?(err: LinkError): void;
}

export interface DeviceLinkOptions {
  /** Sent in hello. */
  client?: string;
  ackTimeoutMs?: number;
  retries?: number;
  handshakeTimeoutMs?: number;
  handshakeRetries?: number;
  /** Upper bound of the heartbeat period; the device watchdog / 4 is used when smaller. */
  heartbeatMs?: number;
  /** No telemetry for this long means the link is lost; default: the device watchdog. */
  lostAfterMs?: number;
  /** Prefix of command ids; unique per companion run so a restarted companion never reuses an id. */
  idPrefix?: string;
}

interface Pending {
  msg: Cmd;
  attempts: number;
  sentAt: number;
  timer: TimerHandle | undefined;
  acked: boolean;
  cbs: CommandCallbacks;
}

const SUPPORTED_PROTOS: readonly number[] = [PROTO_VERSION];
/** Commands kept waiting for their "done" ack; older ones are forgotten (a newer move supersedes them). */
const MAX_AWAITING_DONE = 64;
const MOTION: ReadonlySet<Cmd["type"]> = new Set(["move", "force", "stop", "return"]);

export class DeviceLink {
  caps: CapsMsg | undefined;
  private statusV: LinkStatus = "idle";
  private readonly seq = new Sequencer();
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private readonly idPrefix: string;
  private readonly ackTimeoutMs: number;
  private readonly retries: number;
  private readonly hsTimeoutMs: number;
  private readonly hsRetries: number;
  private readonly tlmCbs = new Set<(t: TelemetryMsg) => void>();
  private readonly evtCbs = new Set<(e: EventMsg) => void>();
  private readonly linkCbs = new Set<(e: LinkEvent) => void>();
  private hbTimer: TimerHandle | undefined;
  private liveTimer: TimerHandle | undefined;
  private hs: { attempts: number; timer: TimerHandle | undefined; cbs: ((err: LinkError | undefined, caps?: CapsMsg) => void)[] } | undefined;
  private versionSeen: string | undefined;
  private lastTlm: TelemetryMsg | undefined;
  private lastTlmAt: number | undefined;
  private lastRxAt: number | undefined;
  private q = { lostAcks: 0, retries: 0, failed: 0, rttLast: undefined as number | undefined, rttSum: 0, rttN: 0, reboots: 0, losses: 0 };

  constructor(
    readonly transport: MessageTransport,
    readonly clock: Clock,
    private readonly opts: DeviceLinkOptions = {},
  ) {
    this.idPrefix = opts.idPrefix ?? `c${Math.floor(Math.random() * 36 ** 5).toString(36)}`;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? ACK_TIMEOUT_MS;
    this.retries = opts.retries ?? ACK_RETRIES;
    this.hsTimeoutMs = opts.handshakeTimeoutMs ?? 1000;
    this.hsRetries = opts.handshakeRetries ?? 3;
    transport.setHandlers({
      onMessage: (m) => this.onMessage(m),
      onDrop: (r, d) => this.onDrop(r, d),
      onClose: (err) => this.onClosed(err),
    });
  }

  get status(): LinkStatus {
    return this.statusV;
  }

  get telemetry(): TelemetryMsg | undefined {
    return this.lastTlm;
  }

  get telemetryAt(): number | undefined {
    return this.lastTlmAt;
  }

  get watchdogMs(): number {
    return this.caps?.watchdogMs ?? DEFAULT_WATCHDOG_MS;
  }

  get tlmPeriodMs(): number {
    return 1000 / (this.caps?.tlmHz ?? DEFAULT_TLM_HZ);
  }

  get heartbeatMs(): number {
    return Math.min(this.opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, this.watchdogMs / 4);
  }

  get lostAfterMs(): number {
    return this.opts.lostAfterMs ?? Math.max(this.watchdogMs, 3 * this.tlmPeriodMs);
  }

  // ---- handshake ----

  /** Callback form of handshake(): `cb` gets the caps, or why the device was refused. */
  startHandshake(cb: (err: LinkError | undefined, caps?: CapsMsg) => void): void {
    if (this.statusV === "closed") {
      cb(new LinkError("link is closed", "closed"));
      return;
    }
    if (this.hs) {
      this.hs.cbs.push(cb);
      return;
    }
    this.hs = { attempts: 0, timer: undefined, cbs: [cb] };
    this.versionSeen = undefined;
    if (this.statusV !== "lost") this.setStatus("handshaking", "hello sent");
    this.sendHello();
  }

  handshake(): Promise<CapsMsg> {
    return new Promise((resolve, reject) => this.startHandshake((err, caps) => (err ? reject(err) : resolve(caps!))));
  }

  private sendHello(): void {
    const hs = this.hs!;
    hs.attempts++;
    // Armed before the hello goes out: a transport that answers within send() finishes the handshake
    // there, and must find this timer to clear.
    hs.timer = this.clock.setTimeout(() => {
      if (this.hs !== hs) return;
      if (hs.attempts <= this.hsRetries) {
        this.sendHello();
        return;
      }
      const err = this.versionSeen
        ? new LinkError(`device refused: it speaks ${this.versionSeen}; this companion speaks protocol ${SUPPORTED_PROTOS.join(", ")}`, "incompatible")
        : new LinkError(`no answer to hello after ${hs.attempts} tries (${this.hsTimeoutMs} ms each)`, "handshake-timeout");
      this.finishHandshake(err);
    }, this.hsTimeoutMs);
    this.transmit({ type: "hello", client: this.opts.client ?? "invert", proto: [...SUPPORTED_PROTOS] });
  }

  private finishHandshake(err: LinkError | undefined, caps?: CapsMsg): void {
    const hs = this.hs;
    if (!hs) return;
    this.clock.clearTimeout(hs.timer);
    this.hs = undefined;
    if (err && this.statusV === "handshaking") this.setStatus("idle", err.message);
    for (const cb of hs.cbs) cb(err, caps);
  }

  private onCaps(caps: CapsMsg): void {
    if (!SUPPORTED_PROTOS.includes(caps.proto)) {
      this.versionSeen = `protocol ${caps.proto} (model ${caps.model}, firmware ${caps.fw})`;
      if (this.hs) {
        this.finishHandshake(
          new LinkError(`device refused: ${caps.model} firmware ${caps.fw} speaks protocol ${caps.proto}; this companion speaks ${SUPPORTED_PROTOS.join(", ")}`, "incompatible"),
        );
      }
      return;
    }
    const prev = this.caps;
    const rebooted = prev !== undefined && caps.boot !== prev.boot;
    const wasLost = this.statusV === "lost";
    this.caps = caps;
    if (rebooted) {
      this.q.reboots++;
      // Taken before the event: what its listeners send now is meant for the new boot.
      const inFlight = [...this.pending];
      this.emit({ type: "reboot", caps, previousBoot: prev.boot });
      this.voidAfterReboot(inFlight);
    }
    if (this.statusV === "closed") return;
    if (this.statusV !== "up") {
      this.setStatus("up", wasLost ? "link restored" : "caps received");
      this.startTimers();
      if (wasLost) this.emit({ type: "restored", caps, rebooted });
    } else this.startTimers();
    this.finishHandshake(undefined, caps);
  }

  // ---- commands ----

  /**
   * Sends a command with a fresh id; retries with the same id after each ack timeout. Returns the id.
   * Motion commands get "accepted" and later "done"; both reach `onAck`.
   */
  sendCommand(body: CommandBody, cbs: CommandCallbacks = {}): string {
    const id = `${this.idPrefix}-${this.nextId++}`;
    const msg = { ...body, id } as unknown as Cmd;
    if (this.statusV === "closed") {
      const err = new LinkError(`${body.type} ${id}: link is closed`, "closed");
      // Asynchronous like every other outcome, so callers see one ordering.
      this.clock.setTimeout(() => cbs.onNoAck?.(err), 0);
      return id;
    }
    this.supersede(body.type);
    const p: Pending = { msg, attempts: 0, sentAt: 0, timer: undefined, acked: false, cbs };
    this.pending.set(id, p);
    this.attempt(id, p);
    this.trimAwaitingDone();
    return id;
  }

  /**
   * Sends a command once, untracked: no retry, its ack ignored. For a last word on a link believed
   * lost, where retries would be frames that feed the device's watchdog.
   */
  sendOnce(body: CommandBody): string {
    const id = `${this.idPrefix}-${this.nextId++}`;
    if (this.statusV !== "closed") this.transmit({ ...body, id } as unknown as Cmd);
    return id;
  }

  /** Resolves with the first ack (accepted, done, rejected, busy, ...); rejects when none comes. */
  command(body: CommandBody): Promise<AckMsg> {
    return this.send(body).accepted;
  }

  /** Both stages of a command: `accepted` (first ack) and `done` (the final ack: done, rejected, ...). */
  send(body: CommandBody): { id: string; accepted: Promise<AckMsg>; done: Promise<AckMsg> } {
    let resA!: (a: AckMsg) => void, rejA!: (e: Error) => void, resD!: (a: AckMsg) => void, rejD!: (e: Error) => void;
    const accepted = new Promise<AckMsg>((r, j) => ((resA = r), (rejA = j)));
    const done = new Promise<AckMsg>((r, j) => ((resD = r), (rejD = j)));
    // A caller that only awaits one stage must not leave the other as an unhandled rejection.
    accepted.catch(() => {});
    done.catch(() => {});
    const id = this.sendCommand(body, {
      onAck: (a) => {
        resA(a);
        if (a.result !== "accepted") resD(a);
      },
      onNoAck: (e) => {
        rejA(e);
        rejD(e);
      },
    });
    return { id, accepted, done };
  }

  /**
   * A newer motion command makes older unacknowledged ones moot: retrying them would act on stale
   * intent (a `stop` retried after the move that followed it would stop that move). `move` and `force`
   * drive different axes, so they only supersede their own kind; `stop` and `return` supersede all.
   */
  private supersede(type: Cmd["type"]): void {
    if (!MOTION.has(type)) return;
    for (const [id, p] of this.pending) {
      if (p.acked || !MOTION.has(p.msg.type)) continue;
      const other = p.msg.type;
      const clash = type === "stop" || type === "return" || other === "stop" || other === "return" || other === type;
      if (!clash) continue;
      this.clock.clearTimeout(p.timer);
      this.pending.delete(id);
      p.cbs.onNoAck?.(new LinkError(`${other} ${id}: superseded by a newer ${type}`, "superseded"));
    }
  }

  private attempt(id: string, p: Pending): void {
    p.attempts++;
    p.sentAt = this.clock.now();
    // Armed before the send, as for hello: an ack arriving within send() must find the timer to clear.
    p.timer = this.clock.setTimeout(() => {
      if (this.pending.get(id) !== p || p.acked) return;
      this.q.lostAcks++;
      if (p.attempts <= this.retries) {
        this.q.retries++;
        this.attempt(id, p);
        return;
      }
      this.pending.delete(id);
      this.q.failed++;
      p.cbs.onNoAck?.(new LinkError(`${p.msg.type} ${id}: no ack after ${p.attempts} tries (${this.ackTimeoutMs} ms each)`, "no-ack"));
    }, this.ackTimeoutMs);
    this.transmit(p.msg);
  }

  /**
   * A rebooted device has forgotten the ids it acted on (PROTOCOL.md 4, 9.7): a retry would be a new
   * command to it, acted on again, and a "done" will never come for what it was doing.
   */
  private voidAfterReboot(inFlight: [string, Pending][]): void {
    for (const [id, p] of inFlight) {
      if (this.pending.get(id) !== p) continue;
      this.clock.clearTimeout(p.timer);
      this.pending.delete(id);
      p.cbs.onNoAck?.(new LinkError(`${p.msg.type} ${id}: void, the device rebooted`, "rebooted"));
    }
  }

  private onAck(ack: AckMsg): void {
    const p = this.pending.get(ack.id);
    if (!p) return;
    if (!p.acked) {
      p.acked = true;
      this.clock.clearTimeout(p.timer);
      // Karn's algorithm: once a command went out again, its ack may answer any of the sends (a retry
      // carries the same id). Timed from the latest send it is too short when an earlier, slow send is
      // the one answered; timed from the first it adds the ack timeouts when that send was lost.
      if (p.attempts === 1) {
        const rtt = this.clock.now() - p.sentAt;
        this.q.rttLast = rtt;
        this.q.rttSum += rtt;
        this.q.rttN++;
      }
    } else if (ack.result === "accepted") return; // a retry's duplicate acceptance
    if (ack.result !== "accepted") this.pending.delete(ack.id);
    p.cbs.onAck?.(ack);
  }

  private trimAwaitingDone(): void {
    if (this.pending.size <= MAX_AWAITING_DONE) return;
    for (const [id, p] of this.pending) {
      if (this.pending.size <= MAX_AWAITING_DONE) break;
      if (p.acked) this.pending.delete(id);
    }
  }

  // ---- receive ----

  private onMessage(m: AnyMsg): void {
    if (this.statusV === "closed") return;
    this.lastRxAt = this.clock.now();
    switch (m.type) {
      case "caps":
        this.onCaps(m);
        break;
      case "ack":
        this.onAck(m);
        break;
      case "tlm":
        this.lastTlm = m;
        this.lastTlmAt = this.clock.now();
        if (this.statusV === "lost" && !this.hs) {
          // The device is back: learn whether it rebooted before anyone acts on it.
          this.startHandshake(() => {});
        }
        for (const cb of this.tlmCbs) cb(m);
        break;
      case "evt":
        for (const cb of this.evtCbs) cb(m);
        break;
      default:
        break;
    }
  }

  private onDrop(reason: DropReason, detail: string): void {
    if (reason === "version") {
      const v = /version (.+)$/.exec(detail)?.[1];
      this.versionSeen = `protocol ${v ?? "(unknown)"}`;
    }
  }

  private onClosed(err?: Error): void {
    if (this.statusV === "closed") return;
    this.shutdown(err ? `transport closed: ${err.message}` : "closed");
  }

  // ---- timers ----

  private startTimers(): void {
    this.clock.clearInterval(this.hbTimer);
    this.hbTimer = this.clock.setInterval(() => this.transmit({ type: "hb" }), this.heartbeatMs);
    if (this.liveTimer === undefined) {
      this.liveTimer = this.clock.setInterval(() => this.checkLive(), Math.max(10, Math.min(100, this.tlmPeriodMs)));
    }
  }

  private checkLive(): void {
    if (this.statusV !== "up") return;
    const since = this.lastTlmAt ?? this.lastRxAt;
    if (since === undefined) return;
    if (this.clock.now() - since > this.lostAfterMs) {
      this.q.losses++;
      // Go silent toward a device we cannot see. When only its direction failed, our heartbeats and
      // retries would still reach it and keep its watchdog fed: it would hold the user where they are
      // while we report it returning on its own. Heartbeats restart with the next handshake.
      this.clock.clearInterval(this.hbTimer);
      this.hbTimer = undefined;
      this.setStatus("lost", `no telemetry for ${Math.round(this.clock.now() - since)} ms`);
      this.abandonUnacked("link lost");
    }
  }

  private abandonUnacked(reason: string): void {
    for (const [id, p] of [...this.pending]) {
      if (p.acked) continue;
      this.clock.clearTimeout(p.timer);
      this.pending.delete(id);
      this.q.failed++;
      p.cbs.onNoAck?.(new LinkError(`${p.msg.type} ${id}: ${reason}`, "no-ack"));
    }
  }

  // ---- outputs ----

  private transmit(out: Outgoing): void {
    this.transport.send(this.seq.stamp(out));
  }

  private setStatus(s: LinkStatus, reason: string): void {
    if (this.statusV === s) return;
    this.statusV = s;
    this.emit({ type: "status", status: s, reason });
  }

  private emit(e: LinkEvent): void {
    for (const cb of [...this.linkCbs]) cb(e);
  }

  onTelemetry(cb: (t: TelemetryMsg) => void): () => void {
    this.tlmCbs.add(cb);
    return () => this.tlmCbs.delete(cb);
  }

  onEvent(cb: (e: EventMsg) => void): () => void {
    this.evtCbs.add(cb);
    return () => this.evtCbs.delete(cb);
  }

  /** Status changes, reboots and restorations. */
  onLink(cb: (e: LinkEvent) => void): () => void {
    this.linkCbs.add(cb);
    return () => this.linkCbs.delete(cb);
  }

  quality(): LinkQuality {
    const st = this.transport.stats;
    const drops = { ...st.drops };
    const age = this.lastTlmAt === undefined ? undefined : this.clock.now() - this.lastTlmAt;
    return {
      status: this.statusV,
      rxFrames: st.rxFrames,
      txFrames: st.txFrames,
      drops,
      lostAcks: this.q.lostAcks,
      retries: this.q.retries,
      failedCommands: this.q.failed,
      rttLastMs: this.q.rttLast,
      rttAvgMs: this.q.rttN ? this.q.rttSum / this.q.rttN : undefined,
      tlmAgeMs: age,
      stale: age === undefined || age > 2.5 * this.tlmPeriodMs,
      reboots: this.q.reboots,
      losses: this.q.losses,
    };
  }

  private shutdown(reason: string): void {
    this.clock.clearInterval(this.hbTimer);
    this.clock.clearInterval(this.liveTimer);
    this.hbTimer = this.liveTimer = undefined;
    if (this.hs) this.finishHandshake(new LinkError(`handshake aborted: ${reason}`, "closed"));
    this.setStatus("closed", reason);
    const pend = [...this.pending.values()];
    this.pending.clear();
    for (const p of pend) {
      this.clock.clearTimeout(p.timer);
      p.cbs.onNoAck?.(new LinkError(`${p.msg.type} ${p.msg.id}: ${reason}`, "closed"));
    }
  }

  async close(): Promise<void> {
    if (this.statusV !== "closed") this.shutdown("closed by the companion");
    await this.transport.close();
  }
}
