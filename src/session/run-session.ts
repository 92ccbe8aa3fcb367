// A running session: the machine actor on the session clock, fed by the device link (telemetry, device
// events, link status), watched by the safety supervisor, and presented as snapshots, samples, events and
// a summary. Everything here is synchronous with the clock, so a virtual-time test and the simulator stay
// in lockstep.
import { createActor, type SnapshotFrom } from "xstate";
import type { CapsMsg, Clock, EventMsg, TelemetryMsg, TimerHandle } from "../../protocol/index.js";
import { compileProgram, type Action, type Cycle } from "../programs/compile.js";
import { planActions } from "../programs/plan.js";
import { RETURN_PHASES, returnRemainingS, type ReturnEstimateSettings, type ReturnPhaseName } from "./estimate.js";
import type { Program, StepType } from "../programs/schema.js";
import type { EffectiveLimits, LimitSet } from "../limits/effective.js";
import type { DeviceLink, LinkStatus } from "../link/device-link.js";
import {
  DEFAULT_THRESHOLDS,
  sameObservation,
  severity,
  supervise,
  type Observed,
  type SafetyAction,
  type SupervisedLimits,
  type SupervisorMemory,
  type Thresholds,
} from "../safety/supervisor.js";
import { returnRates, sampleIsPassive, sampleUpdate, sessionMachine, type DiscomfortKind, type Outcome, type ReturnSettings, type SessionEventKind, type SessionMachineEvent } from "./machine.js";

export type SessionPhase = "connecting" | "preflight" | "running" | "paused" | "returning" | "completed" | "aborted" | "fault" | "refused";

export interface SessionEvent {
  /** Clock ms. */
  t: number;
  /** Seconds since the session started. */
  atS: number;
  source: "session" | "device";
  kind: SessionEventKind;
  code: string;
  message: string;
}

export interface SessionSnapshot {
  phase: SessionPhase;
  /** Full machine state, e.g. "running.pump" or "returning.rest". */
  state: string;
  step?: { index: number; type?: StepType; label: string };
  cycle?: Cycle;
  /** Seconds since start, and of program time (pauses excluded). */
  elapsedS: number;
  programS: number;
  /** Planned program time left plus the estimated slow return. */
  remainingS?: number;
  tilt?: number;
  vel?: number;
  force?: number;
  deviceMode?: TelemetryMsg["mode"];
  limits?: EffectiveLimits;
  link: { status: LinkStatus; rttMs?: number; stale: boolean; lostAcks: number; retries: number; rxDrops: number };
  pausedBy?: "user" | "supervisor";
  /** Why the return runs, once it does. */
  reason?: string;
  outcome?: Outcome;
  discomfort: boolean;
  safety: SafetyAction;
}

export interface SessionSummary {
  outcome: Outcome;
  program: string;
  maxAngle: number;
  maxSpeed: number;
  maxForce: number;
  durationS: number;
  events: SessionEvent[];
  /** Undefined only when the session was refused before the device's limits were known. */
  limits: EffectiveLimits | undefined;
  reason?: string;
  /** A refusal caused by the link (no handshake, no telemetry, limits not taken), not by a safety rule. */
  refusedByDevice?: boolean;
  discomfort: boolean;
  discomfortKind?: DiscomfortKind;
  /** Tilt and force at the end, as last reported by the device. */
  finalTilt?: number;
  finalForce?: number;
  link: { lostAcks: number; retries: number; rttAvgMs?: number; rxFrames: number; rxDrops: number; losses: number; reboots: number };
}

export interface SessionHandle {
  /** False when the session cannot take it now (a return under way, already paused, over). */
  pause(): boolean;
  resume(): boolean;
  /** Stop and return slowly. */
  stop(): void;
  /** Stop at once (controlled deceleration), record it, and return slowly. */
  discomfort(kind: DiscomfortKind): void;
  snapshot(): SessionSnapshot;
  /** Every change: machine transitions and every telemetry sample. */
  onUpdate(cb: (s: SessionSnapshot) => void): () => void;
  /** Machine transitions only (phase, step, pause, outcome), not telemetry samples: cheaper to follow. */
  onStateChange?(cb: (s: SessionSnapshot) => void): () => void;
  onSample(cb: (tlm: TelemetryMsg) => void): () => void;
  onEvent(cb: (e: SessionEvent) => void): () => void;
  /**
   * Ends the session without waiting for the return (the companion is going away): stops the machine,
   * then sends `stop` and the device's own `return` explicitly, since no exit action can be relied on.
   */
  abandon(reason?: string): void;
  readonly done: Promise<SessionSummary>;
}

export interface SessionOptions {
  link: DeviceLink;
  clock: Clock;
  program: Program;
  profileLimits?: LimitSet;
  /** Extra preflight check of the connected device: throws or returns a reason to refuse. */
  checkDevice?: (caps: CapsMsg) => string | void;
  ret?: Partial<ReturnSettings>;
  /** Default true; false waits for START (not exposed yet: the CLI always starts). */
  autoStart?: boolean;
  linkGiveUpMs?: number;
  maxPauseMs?: number;
  thresholds?: Partial<Thresholds>;
  /** How often the supervisor runs without telemetry (to notice staleness). */
  superviseEveryMs?: number;
}

type Snap = SnapshotFrom<typeof sessionMachine>;

function stateString(v: Snap["value"]): string {
  if (typeof v === "string") return v;
  return Object.entries(v)
    .map(([k, sub]) => `${k}.${stateString(sub as Snap["value"])}`)
    .join(",");
}

function phaseOf(s: Snap): SessionPhase {
  const top = typeof s.value === "string" ? s.value : Object.keys(s.value)[0];
  switch (top) {
    case "disconnected":
    case "handshaking":
    case "ready":
      return "connecting";
    case "preflight":
    case "running":
    case "paused":
    case "returning":
    case "completed":
    case "aborted":
    case "fault":
    case "refused":
      return top;
    default:
      return "connecting";
  }
}

export function startSession(opts: SessionOptions): SessionHandle {
  const { link, clock, program } = opts;
  const th: Thresholds = { ...DEFAULT_THRESHOLDS, ...opts.thresholds };
  const actions: Action[] = compileProgram(program);
  const t0 = clock.now();
  const events: SessionEvent[] = [];
  const updateCbs = new Set<(s: SessionSnapshot) => void>();
  const stateCbs = new Set<(s: SessionSnapshot) => void>();
  const sampleCbs = new Set<(t: TelemetryMsg) => void>();
  const eventCbs = new Set<(e: SessionEvent) => void>();
  const stats = { maxAngle: -Infinity, maxSpeed: 0, maxForce: 0 };
  let memory: SupervisorMemory = {};
  let lastAction: SafetyAction = "none";
  let sentAction: SafetyAction = "none";
  let programMs = 0;
  let runningSince: number | undefined;
  let plannedS: number | undefined;
  /** Where the program leaves the table, for the return estimate while it runs. */
  let planEnd: { tilt: number; force: number; headDown: boolean } | undefined;
  let stateSince = clock.now();
  let lastState = "";
  let finished = false;
  let resolveDone!: (s: SessionSummary) => void;
  const done = new Promise<SessionSummary>((r) => (resolveDone = r));
  const unsubs: (() => void)[] = [];
  let tick: TimerHandle | undefined;

  const actor = createActor(sessionMachine, {
    clock,
    input: {
      link,
      clock,
      program,
      actions,
      profileLimits: opts.profileLimits,
      ...(opts.checkDevice ? { checkDevice: opts.checkDevice } : {}),
      ret: opts.ret,
      autoStart: opts.autoStart ?? true,
      linkGiveUpMs: opts.linkGiveUpMs,
      maxPauseMs: opts.maxPauseMs,
    },
  });

  const record = (source: SessionEvent["source"], kind: SessionEventKind, code: string, message: string): void => {
    const now = clock.now();
    const e: SessionEvent = { t: now, atS: (now - t0) / 1000, source, kind, code, message };
    events.push(e);
    for (const cb of eventCbs) cb(e);
  };

  let notesSeen = 0;
  const drainNotes = (s: Snap): void => {
    const notes = s.context.notes;
    for (; notesSeen < notes.length; notesSeen++) {
      const n = notes[notesSeen];
      record("session", n.kind, n.code, n.message);
    }
  };

  const programSeconds = (): number => (programMs + (runningSince !== undefined ? clock.now() - runningSince : 0)) / 1000;

  const makeSnapshot = (s: Snap): SessionSnapshot => {
    const ctx = s.context;
    const a: Action | undefined = ctx.actions[ctx.index];
    const phase = phaseOf(s);
    const q = link.quality();
    const tlm = ctx.tlm;
    let remainingS: number | undefined;
    const up = ctx.caps?.axes.tilt?.upright ?? -80;
    const rates = returnRates(ctx);
    const settings: ReturnEstimateSettings = {
      upright: up,
      returnSpeed: rates.tilt,
      approachSpeed: Math.min(ctx.ret.approachSpeed, 1),
      approachZone: ctx.ret.approachZone,
      restS: ctx.ret.restS,
      pauseS: ctx.ret.pauseS,
      pauseTilt: ctx.ret.pauseTilt,
      returnRate: rates.traction,
    };
    const tilt = ctx.caps?.axes.tilt ? (tlm?.tilt ?? up) : up;
    if (phase === "running" || phase === "paused") {
      if (plannedS !== undefined && planEnd) {
        remainingS =
          Math.max(0, plannedS - programSeconds()) +
          returnRemainingS({ tilt: ctx.caps?.axes.tilt ? planEnd.tilt : up, force: planEnd.force, wasHeadDown: ctx.wasHeadDown || planEnd.headDown }, settings);
      }
    } else if (phase === "returning") {
      const sub = stateString(s.value).replace(/^returning\./, "").replace(/Check$/, "");
      const inPhaseS = (clock.now() - stateSince) / 1000;
      if ((RETURN_PHASES as readonly string[]).includes(sub)) {
        remainingS = returnRemainingS({ tilt, force: tlm?.force ?? 0, wasHeadDown: ctx.wasHeadDown, phase: sub as ReturnPhaseName, inPhaseS }, settings);
      } else {
        // The firmware's return (or a lost link): its own profile, estimated the same way.
        remainingS = returnRemainingS({ tilt, force: tlm?.force ?? 0, wasHeadDown: tilt > 1 }, settings);
      }
    } else if (phase === "completed" || phase === "aborted" || phase === "fault" || phase === "refused") remainingS = 0;
    const out: SessionSnapshot = {
      phase,
      state: stateString(s.value),
      elapsedS: (clock.now() - t0) / 1000,
      programS: programSeconds(),
      discomfort: ctx.discomfort !== undefined,
      safety: lastAction,
      link: {
        status: link.status,
        stale: q.stale,
        lostAcks: q.lostAcks,
        retries: q.retries,
        rxDrops: Object.values(q.drops).reduce((x, y) => x + y, 0),
        ...(q.rttAvgMs !== undefined ? { rttMs: q.rttAvgMs } : {}),
      },
    };
    if ((phase === "running" || phase === "paused") && a) {
      out.step = { index: a.step, label: a.label, ...(a.stepType ? { type: a.stepType } : {}) };
      if (a.cycle) out.cycle = a.cycle;
    }
    if (remainingS !== undefined) out.remainingS = remainingS;
    if (tlm) {
      out.tilt = tlm.tilt;
      out.vel = tlm.vel;
      if (tlm.force !== undefined) out.force = tlm.force;
      out.deviceMode = tlm.mode;
    }
    if (ctx.limits) out.limits = ctx.limits;
    if (ctx.pausedBy) out.pausedBy = ctx.pausedBy;
    if (ctx.reason) out.reason = ctx.reason;
    if (s.status === "done") out.outcome = (phase as Outcome) ?? "aborted";
    return out;
  };

  const publish = (transition: boolean): void => {
    if (updateCbs.size === 0 && (!transition || stateCbs.size === 0)) return;
    const snap = makeSnapshot(actor.getSnapshot());
    for (const cb of updateCbs) cb(snap);
    if (transition) for (const cb of stateCbs) cb(snap);
  };

  let supLimits: { from: EffectiveLimits; limits: SupervisedLimits } | undefined;
  /** The last observation checked, and until when it decides the same (see SafetyDecision.recheckAt). */
  let checked: Observed | undefined;
  let recheckAt = -Infinity;
  /** `periodic`: the tick that notices stale telemetry, as opposed to a sample or an event. */
  const runSupervisor = (periodic: boolean): void => {
    const s = actor.getSnapshot();
    if (s.status !== "active") return;
    const phase = phaseOf(s);
    if (phase !== "running" && phase !== "paused" && phase !== "returning") return;
    const ctx = s.context;
    const lim = ctx.limits;
    if (!lim) return;
    if (supLimits?.from !== lim) supLimits = { from: lim, limits: { tiltMin: lim.tiltMin, tiltMax: lim.tiltMax, speedMax: lim.speedMax, forceMax: lim.forceMax } };
    const o: Observed = {
      expect: ctx.expect,
      limits: supLimits.limits,
      upright: ctx.caps?.axes.tilt?.upright ?? -80,
      tlm: link.telemetry,
      tlmAt: link.telemetryAt,
      tlmPeriodMs: link.tlmPeriodMs,
      link: link.status,
      discomfort: ctx.discomfort !== undefined,
    };
    const now = clock.now();
    // Between samples the tick mostly sees the observation the last sample was judged on; before its
    // recheck time that gives the very same decision, so it is skipped. Every sample is judged.
    if (periodic && checked !== undefined && now < recheckAt && sameObservation(checked, o)) return;
    const d = supervise(now, o, memory, th);
    checked = o;
    recheckAt = d.recheckAt;
    memory = d.memory;
    if (d.action !== lastAction) {
      if (d.action !== "none") {
        record("session", d.action === "warn" ? "warn" : "safety", "SUPERVISOR", `${d.action}: ${d.findings.map((f) => f.message).join("; ")}`);
      }
      lastAction = d.action;
    }
    if (severity(d.action) >= severity("hold")) {
      if (severity(d.action) > severity(sentAction)) {
        sentAction = d.action;
        actor.send({ type: "SUPERVISOR", action: d.action, message: d.findings.map((f) => f.message).join("; ") });
      }
    } else if (sentAction !== "none") {
      if (sentAction === "hold") actor.send({ type: "SUPERVISOR_CLEAR" });
      sentAction = "none";
    }
  };

  const onTlm = (t: TelemetryMsg): void => {
    if (finished) return;
    stats.maxAngle = Math.max(stats.maxAngle, t.tilt);
    stats.maxSpeed = Math.max(stats.maxSpeed, Math.abs(t.vel));
    stats.maxForce = Math.max(stats.maxForce, t.force ?? 0);
    if (passive) {
      // Exactly what the machine's TLM handler would do here (sampleIsPassive), without a transition
      // and a new snapshot per sample. The context object is the current snapshot's own; the next
      // transition copies it forward.
      const ctx = actor.getSnapshot().context;
      Object.assign(ctx, sampleUpdate(ctx, t));
      publish(false);
    } else {
      // The machine's subscription publishes the new snapshot to onUpdate listeners.
      actor.send({ type: "TLM", tlm: t });
    }
    for (const cb of sampleCbs) cb(t);
    // Every sample, whichever path it took.
    runSupervisor(false);
  };

  const onDeviceEvent = (e: EventMsg): void => {
    if (finished) return;
    const kind: SessionEventKind = e.severity === "info" ? "info" : e.severity === "warn" ? "warn" : "fault";
    record("device", kind, e.code, e.msg);
    if (e.severity === "fault" || e.severity === "critical") actor.send({ type: "DEVICE_FAULT", code: e.code, message: e.msg });
  };

  unsubs.push(link.onTelemetry(onTlm));
  unsubs.push(link.onEvent(onDeviceEvent));
  unsubs.push(
    link.onLink((e) => {
      if (finished) return;
      if (e.type === "status") {
        if (e.status === "lost" || e.status === "closed") {
          record("session", "link", "LINK_LOST", `link ${e.status}: ${e.reason}`);
          actor.send({ type: "LINK_LOST", reason: e.reason });
          // A closed port or connection does not come back: the firmware's return has the user now.
          if (e.status === "closed") actor.send({ type: "LINK_CLOSED" });
        }
      } else if (e.type === "reboot") {
        record("session", "fault", "DEVICE_REBOOT", `device rebooted (boot ${e.previousBoot ?? "?"} -> ${e.caps.boot ?? "?"})`);
        // The device lost its RAM state (our limits among it) and runs its own return if not upright.
        actor.send({ type: "DEVICE_FAULT", code: "REBOOT", message: "device rebooted" });
      } else if (e.type === "restored") {
        actor.send({ type: "LINK_RESTORED", rebooted: e.rebooted });
      }
      publish(false);
    }),
  );

  let lastPhase: SessionPhase | undefined;
  /** Whether a telemetry sample may skip the machine in the current state (see sampleIsPassive). */
  let passive = false;
  const finish = (s: Snap): void => {
    if (finished) return;
    finished = true;
    clock.clearInterval(tick);
    for (const u of unsubs) u();
    const ctx = s.context;
    const outcome = phaseOf(s) as Outcome;
    const q = link.quality();
    const summary: SessionSummary = {
      outcome,
      program: program.name,
      maxAngle: Number.isFinite(stats.maxAngle) ? stats.maxAngle : (ctx.tlm?.tilt ?? 0),
      maxSpeed: stats.maxSpeed,
      maxForce: stats.maxForce,
      durationS: (clock.now() - t0) / 1000,
      events,
      limits: ctx.limits,
      discomfort: ctx.discomfort !== undefined,
      link: {
        lostAcks: q.lostAcks,
        retries: q.retries,
        rxFrames: q.rxFrames,
        rxDrops: Object.values(q.drops).reduce((x, y) => x + y, 0),
        losses: q.losses,
        reboots: q.reboots,
        ...(q.rttAvgMs !== undefined ? { rttAvgMs: q.rttAvgMs } : {}),
      },
    };
    const reason = outcome === "refused" ? ctx.refusal : ctx.reason;
    if (reason) summary.reason = reason;
    if (outcome === "refused" && ctx.refusedByDevice) summary.refusedByDevice = true;
    if (ctx.discomfort) summary.discomfortKind = ctx.discomfort;
    const tl = link.telemetry;
    if (tl) {
      summary.finalTilt = tl.tilt;
      if (tl.force !== undefined) summary.finalForce = tl.force;
    }
    record("session", outcome === "completed" ? "info" : outcome === "refused" ? "warn" : "safety", "END", `session ${outcome}${reason ? `: ${reason}` : ""}`);
    resolveDone(summary);
  };

  actor.subscribe({
    next: (s) => {
      passive = sampleIsPassive(s);
      drainNotes(s);
      const st = stateString(s.value);
      if (st !== lastState) {
        lastState = st;
        stateSince = clock.now();
      }
      const phase = phaseOf(s);
      if (phase !== lastPhase) {
        if (phase === "running" && runningSince === undefined) {
          runningSince = clock.now();
          if (plannedS === undefined) {
            const startTilt = s.context.tlm?.tilt ?? s.context.caps?.axes.tilt?.upright ?? -80;
            // Load-cell noise can read slightly negative at rest; the plan wants a force >= 0.
            const startForce = Math.max(0, s.context.tlm?.force ?? 0);
            const plan = planActions(actions, { startTilt, accel: s.context.caps?.axes.tilt?.accelMax ?? 10, startForce });
            plannedS = plan.totalS;
            const end = plan.at(plan.totalS);
            planEnd = { tilt: end.tilt, force: end.force, headDown: plan.maxAngle > 1 };
          }
        } else if (phase !== "running" && runningSince !== undefined) {
          programMs += clock.now() - runningSince;
          runningSince = undefined;
        }
        if (phase === "refused") record("session", "warn", "REFUSED", s.context.refusal ?? "refused");
        lastPhase = phase;
      }
      if (s.status === "done") finish(s);
      publish(true);
    },
    error: (err) => {
      record("session", "fault", "INTERNAL", `session machine error: ${(err as Error)?.message ?? String(err)}`);
      abandonNow("internal error");
    },
  });

  const abandonNow = (reason: string): void => {
    if (finished) return;
    const snap = actor.getSnapshot();
    actor.stop();
    // Explicit, in this order: stop whatever moves, then hand the user to the firmware's own return.
    link.sendCommand({ type: "stop" });
    link.sendCommand({ type: "return" });
    record("session", "safety", "ABANDONED", `${reason}: device returning on its own`);
    finishAbandoned(snap, reason);
  };

  const finishAbandoned = (s: Snap, reason: string): void => {
    const ctx = s.context;
    const fake = { ...s, value: "aborted" as const, status: "done" as const, context: { ...ctx, reason: ctx.reason ?? reason } } as unknown as Snap;
    finish(fake);
  };

  actor.start();
  tick = clock.setInterval(() => {
    if (!finished) runSupervisor(true);
  }, opts.superviseEveryMs ?? 100);
  actor.send({ type: "CONNECT" });

  // A key pressed or a request arriving after the session ended (or was abandoned) has nothing left to act on.
  const sendInput = (e: SessionMachineEvent): boolean => {
    const snap = actor.getSnapshot();
    if (snap.status !== "active") return false;
    if (e.type === "DISCOMFORT") record("session", "discomfort", "DISCOMFORT_INPUT", `discomfort input: ${e.kind}`);
    const taken = snap.can(e);
    actor.send(e);
    return taken;
  };

  return {
    pause: () => sendInput({ type: "PAUSE" }),
    resume: () => sendInput({ type: "RESUME" }),
    stop: () => void sendInput({ type: "STOP" }),
    discomfort: (kind) => void sendInput({ type: "DISCOMFORT", kind }),
    snapshot: () => makeSnapshot(actor.getSnapshot()),
    onUpdate: (cb) => {
      updateCbs.add(cb);
      return () => updateCbs.delete(cb);
    },
    onStateChange: (cb) => {
      stateCbs.add(cb);
      return () => stateCbs.delete(cb);
    },
    onSample: (cb) => {
      sampleCbs.add(cb);
      return () => sampleCbs.delete(cb);
    },
    onEvent: (cb) => {
      eventCbs.add(cb);
      return () => eventCbs.delete(cb);
    },
    abandon: (reason = "session abandoned") => abandonNow(reason),
    done,
  };
}
