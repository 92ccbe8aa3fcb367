// The session state machine (XState v5). It runs the compiled program action by action and, whatever
// happens (stop, discomfort, a supervisor decision, a device fault, a lost link, a refused command),
// ends in the slow return: traction released, down to horizontal with a rest there when the user was
// head-down, a pause on the way up, then up at the return speed and the last degrees at <= 1 deg/s.
// Timing only through the actor's clock (createActor(machine, { clock })), so tests run in virtual time.
import { and, assign, setup } from "xstate";
import { faultSpec, type CapsMsg, type Clock, type TelemetryMsg } from "../../protocol/index.js";
import type { Action } from "../programs/compile.js";
import type { Program } from "../programs/schema.js";
import { DEFAULT_RETURN_PROFILE, HEAD_DOWN_DEG, planActions } from "../programs/plan.js";
import { checkActions, checkInvertedTime, clampToLimits, effectiveLimits, type EffectiveLimits, type LimitSet } from "../limits/effective.js";
import { clearFaultsActor, motionActor, stopActor, handshakeActor, followDeviceReturnActor, type SessionLink, type CommandFailEvent } from "./actors.js";
import type { CommandBody } from "../link/device-link.js";
import type { Expectation, SafetyAction } from "../safety/supervisor.js";

export type Outcome = "completed" | "aborted" | "fault" | "refused";
export type DiscomfortKind = "pain" | "dizziness" | "other";

export interface ReturnSettings {
  /** Rest near horizontal when the return starts head-down (DOMAIN.md section 2: at least 60 s). */
  restS: number;
  /** Pause on the way up (Mastercare: at 15 deg), skipped when pauseS is 0. */
  pauseTilt: number;
  pauseS: number;
  /** Last degrees before upright at approachSpeed (<= 1 deg/s). */
  approachZone: number;
  approachSpeed: number;
  /** Used when the device does not advertise its own. */
  returnSpeed: number;
  returnRate: number;
}

// One set of figures for the return the session runs and the one the plans and estimates draw
// (programs/plan.ts); upright is the device's, not a setting.
const { upright: _upright, ...returnDefaults } = DEFAULT_RETURN_PROFILE;
export const DEFAULT_RETURN: Readonly<ReturnSettings> = Object.freeze(returnDefaults);

export interface SessionInput {
  link: SessionLink;
  clock: Clock;
  program: Program;
  actions: Action[];
  profileLimits?: LimitSet;
  ret?: Partial<ReturnSettings>;
  /** Start the program as soon as the device is ready (the CLI); otherwise wait for START. */
  autoStart?: boolean;
  /**
   * Extra preflight check on the connected device (e.g. the user's weight against the device's rating):
   * throws, or returns a reason, to refuse the session before any motion.
   */
  checkDevice?: (caps: CapsMsg) => string | void;
  /** How long a lost link is waited for before the session ends as a fault (the firmware is returning). */
  linkGiveUpMs?: number;
  /** How long a pause (by the user or the supervisor) may last before the return starts. */
  maxPauseMs?: number;
}

export type SessionEventKind = "info" | "warn" | "safety" | "discomfort" | "fault" | "link";
export interface MachineNote {
  kind: SessionEventKind;
  code: string;
  message: string;
}

export type SessionMachineEvent =
  | { type: "CONNECT" }
  | { type: "START" }
  | { type: "PAUSE" }
  | { type: "RESUME" }
  | { type: "STOP" }
  | { type: "DISCOMFORT"; kind: DiscomfortKind }
  | { type: "HANDSHAKE_OK"; caps: CapsMsg }
  | { type: "HANDSHAKE_FAIL"; message: string }
  | { type: "TLM"; tlm: TelemetryMsg }
  | { type: "STEP_DONE" }
  | CommandFailEvent
  | { type: "SUPERVISOR"; action: SafetyAction; message: string }
  | { type: "SUPERVISOR_CLEAR" }
  | { type: "LINK_LOST"; reason: string }
  | { type: "LINK_RESTORED"; rebooted: boolean }
  | { type: "LINK_CLOSED" }
  | { type: "DEVICE_FAULT"; code: string; message: string }
  | { type: "DEVICE_RETURN_DONE" }
  | { type: "DEVICE_NOTE"; message: string }
  | { type: "FOLLOW_TIMEOUT" }
  | { type: "FAULTS_CLEARED"; results: { code: string; result: string; reason?: string }[]; tlm: TelemetryMsg };

export interface SessionContext {
  link: SessionLink;
  clock: Clock;
  program: Program;
  actions: Action[];
  profileLimits: LimitSet;
  checkDevice: ((caps: CapsMsg) => string | void) | undefined;
  ret: ReturnSettings;
  autoStart: boolean;
  linkGiveUpMs: number;
  maxPauseMs: number;
  caps: CapsMsg | undefined;
  tlm: TelemetryMsg | undefined;
  limits: EffectiveLimits | undefined;
  refusal: string | undefined;
  /** The refusal is the link's: no handshake, no telemetry, limits not taken; not a safety rule. */
  refusedByDevice: boolean;
  index: number;
  /** The clamped command of the current move/force state. */
  cmd: CommandBody | { error: string } | undefined;
  cmdTimeoutMs: number;
  /**
   * Dwell still to run (ms) and when the current dwell timer started. Undefined until the dwell starts:
   * 0 left means a dwell that is over, not one to run again in full.
   */
  dwellLeftMs: number | undefined;
  dwellStartedAt: number;
  /** Last tilt target commanded by the program (for "holding" expectations). */
  tiltTarget: number | undefined;
  expect: Expectation;
  pausedBy: "user" | "supervisor" | undefined;
  /** A safety hold came on top of the user's pause: lifting the hold must leave the user's pause in place. */
  userPauseUnderHold: boolean;
  outcome: Exclude<Outcome, "refused"> | undefined;
  reason: string | undefined;
  discomfort: DiscomfortKind | undefined;
  speedFactor: number;
  /** Tilt when the return started: the rest near horizontal is only for a return from head-down. */
  returnFrom: number | undefined;
  /** The user has been head-down this session: the return then rests near horizontal and pauses on the way up. */
  wasHeadDown: boolean;
  notes: MachineNote[];
}

const UPRIGHT_TOL = 0.5;
/** Speed factor of a return the supervisor wants at reduced speed. */
const REDUCED_FACTOR = 0.5;

function upright(ctx: SessionContext): number {
  return ctx.caps?.axes.tilt?.upright ?? -80;
}

function tiltNow(ctx: SessionContext): number | undefined {
  return ctx.tlm?.tilt;
}

/** The limits used for the return: the effective ones, except that upright is always allowed. */
export function returnLimits(lim: EffectiveLimits, uprightDeg: number): EffectiveLimits {
  return { ...lim, tiltMin: Math.min(lim.tiltMin, uprightDeg) };
}

function accel(ctx: SessionContext): number {
  return ctx.caps?.axes.tilt?.accelMax ?? 10;
}

/** Generous deadline for a move: its ideal time, doubled, plus slack for acceleration and latency. */
function moveTimeoutMs(ctx: SessionContext, from: number | undefined, target: number, speed: number): number {
  const d = from === undefined ? 180 : Math.abs(target - from);
  return (2 * (d / speed + speed / accel(ctx)) + 10) * 1000;
}

function clampMove(ctx: SessionContext, target: number, speed: number, forReturn: boolean): { cmd: CommandBody | { error: string }; target: number } {
  if (!ctx.limits) return { cmd: { error: "no effective limits" }, target };
  const lim = forReturn ? returnLimits(ctx.limits, upright(ctx)) : ctx.limits;
  try {
    const { cmd, changed } = clampToLimits({ type: "move" as const, axis: "tilt" as const, target, speed }, lim);
    for (const c of changed) ctx.notes.push({ kind: "safety", code: "CLAMPED", message: `move ${c.field} ${c.from} clamped to ${c.to} (${c.source} ${c.limit})` });
    return { cmd, target: cmd.target };
  } catch (e) {
    return { cmd: { error: (e as Error).message }, target };
  }
}

function clampForce(ctx: SessionContext, target: number, rate: number): CommandBody | { error: string } {
  if (!ctx.limits) return { error: "no effective limits" };
  try {
    const { cmd, changed } = clampToLimits({ type: "force" as const, axis: "traction" as const, target, rate }, ctx.limits);
    for (const c of changed) ctx.notes.push({ kind: "safety", code: "CLAMPED", message: `force ${c.field} ${c.from} clamped to ${c.to} (${c.source} ${c.limit})` });
    return cmd;
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function current(ctx: SessionContext): Action | undefined {
  return ctx.actions[ctx.index];
}

/**
 * The tilt speed and traction release rate of the session's return: the slowest of its own settings, the
 * device's and the effective limits, times the slowdown after a supervisor finding. The return, its time
 * estimate and the preflight's head-down check must agree on these, so they are worked out here only.
 */
export function returnRates(ctx: Pick<SessionContext, "caps" | "ret" | "limits" | "speedFactor">): { tilt: number; traction: number } {
  const axes = ctx.caps?.axes;
  return {
    tilt: Math.min(axes?.tilt?.returnSpeed ?? Infinity, ctx.ret.returnSpeed, ctx.limits?.speedMax ?? Infinity) * ctx.speedFactor,
    traction: Math.min(axes?.traction?.returnRate ?? Infinity, ctx.ret.returnRate, ctx.limits?.rateMax ?? Infinity) * ctx.speedFactor,
  };
}

function returnSpeed(ctx: SessionContext): number {
  return returnRates(ctx).tilt;
}

function hasTraction(ctx: SessionContext): boolean {
  return (ctx.tlm?.force ?? 0) > 2;
}

/** A return move (pre-clamped to the return limits); `to` is where the phase ends. */
function returnMove(ctx: SessionContext, to: number, speed: number): Partial<SessionContext> {
  const m = clampMove(ctx, to, speed, true);
  return { cmd: m.cmd, cmdTimeoutMs: moveTimeoutMs(ctx, tiltNow(ctx), to, speed) };
}

/** What a telemetry sample changes in the context (the root TLM handler; see sampleIsPassive). */
export function sampleUpdate(context: SessionContext, tlm: TelemetryMsg): Pick<SessionContext, "tlm" | "wasHeadDown"> {
  return { tlm, wasHeadDown: context.wasHeadDown || tlm.tilt > HEAD_DOWN_DEG };
}

type ReturnParams = { outcome: Exclude<Outcome, "refused" | "completed">; reason: string; factor?: number };

/** Starts the return: remembers why and from where. First cause wins; later ones are only noted. */
function beginReturnUpdate(context: SessionContext, p: ReturnParams): Partial<SessionContext> {
  context.notes.push({ kind: p.outcome === "fault" ? "fault" : "safety", code: "RETURN", message: `slow return: ${p.reason}` });
  return {
    outcome: context.outcome ?? p.outcome,
    reason: context.reason ?? p.reason,
    speedFactor: Math.min(context.speedFactor, p.factor ?? 1),
    returnFrom: context.returnFrom ?? tiltNow(context),
    expect: { phase: "returning", tiltFrom: Math.max(tiltNow(context) ?? 0, context.tiltTarget ?? -90), tiltTarget: upright(context) },
  };
}

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionMachineEvent,
    input: {} as SessionInput,
  },
  actors: { motion: motionActor, stop: stopActor, handshake: handshakeActor, followDevice: followDeviceReturnActor, clearFaults: clearFaultsActor },
  delays: {
    dwell: ({ context }) => Math.max(0, context.dwellLeftMs ?? 0),
    restMs: ({ context }) => context.ret.restS * 1000,
    pauseMs: ({ context }) => context.ret.pauseS * 1000,
    linkGiveUp: ({ context }) => context.linkGiveUpMs,
    maxPause: ({ context }) => context.maxPauseMs,
    tlmWait: 3000,
  },
  guards: {
    autoStart: ({ context }) => context.autoStart,
    refused: ({ context }) => context.refusal !== undefined,
    deviceReturning: ({ context }) => context.tlm?.mode === "returning",
    hasTlm: ({ context }) => context.tlm !== undefined,
    allDone: ({ context }) => context.index >= context.actions.length,
    isPump: ({ context }) => current(context)?.kind === "move" && current(context)?.cycle !== undefined,
    isMove: ({ context }) => current(context)?.kind === "move",
    isForce: ({ context }) => current(context)?.kind === "force",
    pausedBySupervisor: ({ context }) => context.pausedBy === "supervisor",
    pausedByUser: ({ context }) => context.pausedBy === "user",
    userPauseUnderHold: ({ context }) => context.userPauseUnderHold,
    noTelemetry: ({ context }) => context.tlm === undefined,
    /** Upright and without traction: nothing to bring back. */
    atRest: ({ context }) =>
      context.tlm !== undefined && Math.abs(context.tlm.tilt - upright(context)) < 1 && (context.tlm.force ?? 0) < 5,
    completed: ({ context }) => context.outcome === "completed",
    isFault: ({ context }) => context.outcome === "fault",
    supHold: ({ event }) => event.type === "SUPERVISOR" && event.action === "hold",
    supReturn: ({ event }) => event.type === "SUPERVISOR" && event.action === "return",
    supReduced: ({ event }) => event.type === "SUPERVISOR" && event.action === "return-reduced-speed",
    supFirmware: ({ event }) => event.type === "SUPERVISOR" && event.action === "handed-to-firmware",
    fullSpeed: ({ context }) => context.speedFactor > REDUCED_FACTOR,
  },
  actions: {
    storeTlm: assign(({ event, context }) => (event.type === "TLM" ? sampleUpdate(context, event.tlm) : {})),
    beginReturn: assign(({ context }, p: ReturnParams) => beginReturnUpdate(context, p)),
    note: ({ context }, p: MachineNote) => void context.notes.push(p),
    prepareMove: assign(({ context }) => prepareMove(context)),
    slowDown: assign(({ context, event }) => {
      context.notes.push({ kind: "safety", code: "SUPERVISOR", message: `${event.type === "SUPERVISOR" ? event.message : "safety supervisor"}: return continues at reduced speed` });
      return { speedFactor: Math.min(context.speedFactor, REDUCED_FACTOR) };
    }),
  },
}).createMachine({
  id: "session",
  initial: "disconnected",
  context: ({ input }) => ({
    link: input.link,
    clock: input.clock,
    program: input.program,
    actions: input.actions,
    profileLimits: input.profileLimits ?? {},
    checkDevice: input.checkDevice,
    ret: { ...DEFAULT_RETURN, ...input.ret },
    autoStart: input.autoStart ?? true,
    linkGiveUpMs: input.linkGiveUpMs ?? 120_000,
    maxPauseMs: input.maxPauseMs ?? 300_000,
    caps: undefined,
    tlm: undefined,
    limits: undefined,
    refusal: undefined,
    refusedByDevice: false,
    index: 0,
    cmd: undefined,
    cmdTimeoutMs: 0,
    dwellLeftMs: undefined,
    dwellStartedAt: 0,
    tiltTarget: undefined,
    expect: { phase: "idle" },
    pausedBy: undefined,
    userPauseUnderHold: false,
    outcome: undefined,
    reason: undefined,
    discomfort: undefined,
    speedFactor: 1,
    returnFrom: undefined,
    wasHeadDown: false,
    notes: [],
  }),
  on: {
    TLM: { actions: "storeTlm" },
    DEVICE_NOTE: { actions: ({ context, event }) => void context.notes.push({ kind: "warn", code: "DEVICE", message: event.message }) },
  },
  states: {
    disconnected: {
      on: {
        CONNECT: "handshaking",
        STOP: { target: "aborted", actions: assign({ outcome: "aborted", reason: "stopped before connecting" }) },
        DISCOMFORT: {
          target: "aborted",
          actions: assign({ outcome: "aborted", reason: "discomfort before connecting", discomfort: ({ event }) => event.kind }),
        },
      },
    },
    handshaking: {
      invoke: { src: "handshake", input: ({ context }) => ({ link: context.link }) },
      on: {
        HANDSHAKE_OK: { target: "ready", actions: assign({ caps: ({ event }) => event.caps }) },
        HANDSHAKE_FAIL: { target: "refused", actions: assign({ refusal: ({ event }) => event.message, refusedByDevice: true }) },
        STOP: { target: "returning", actions: { type: "beginReturn", params: { outcome: "aborted", reason: "stopped by the user" } } },
        DISCOMFORT: { target: "returning", actions: [assign({ discomfort: ({ event }) => event.kind }), { type: "beginReturn", params: { outcome: "aborted", reason: "discomfort reported" } }] },
      },
    },
    ready: {
      always: { guard: "autoStart", target: "preflight" },
      on: {
        START: "preflight",
        STOP: { target: "returning", actions: { type: "beginReturn", params: { outcome: "aborted", reason: "stopped by the user" } } },
        DISCOMFORT: { target: "returning", actions: [assign({ discomfort: ({ event }) => event.kind }), { type: "beginReturn", params: { outcome: "aborted", reason: "discomfort reported" } }] },
        // The device may be anywhere and only its watchdog can act: waiting on our own return here would
        // hang on a link that is gone until the follow timeout.
        LINK_LOST: { target: "returning.linkLost", actions: { type: "beginReturn", params: { outcome: "fault", reason: "link lost before the start" } } },
        DEVICE_FAULT: [
          // Position unknown yet: the preflight check sees the fault in the first telemetry and decides.
          { guard: "noTelemetry" },
          { guard: "atRest", target: "refused", actions: assign({ refusal: ({ event }) => `device reports ${event.code}: ${event.message}` }) },
          { target: "returning", actions: { type: "beginReturn", params: { outcome: "fault", reason: "device fault before the start" } } },
        ],
      },
    },
    preflight: {
      initial: "waitTelemetry",
      on: {
        // Nothing moves yet: the pause is kept, and the session holds as soon as its checks pass.
        PAUSE: { actions: [assign({ pausedBy: "user" }), { type: "note", params: { kind: "info", code: "PAUSE", message: "pause requested before the start: the session will hold once its checks pass" } }] },
        RESUME: { guard: "pausedByUser", actions: [assign({ pausedBy: undefined }), { type: "note", params: { kind: "info", code: "RESUME", message: "resumed before the start" } }] },
        STOP: { target: "returning", actions: { type: "beginReturn", params: { outcome: "aborted", reason: "stopped by the user" } } },
        DISCOMFORT: { target: "returning", actions: [assign({ discomfort: ({ event }) => event.kind }), { type: "beginReturn", params: { outcome: "aborted", reason: "discomfort reported" } }] },
        // The device may be anywhere and only its watchdog can act: waiting on our own return here would
        // hang on a link that is gone until the follow timeout.
        LINK_LOST: { target: "returning.linkLost", actions: { type: "beginReturn", params: { outcome: "fault", reason: "link lost before the start" } } },
        DEVICE_FAULT: [
          // Position unknown yet: the preflight check sees the fault in the first telemetry and decides.
          { guard: "noTelemetry" },
          { guard: "atRest", target: "refused", actions: assign({ refusal: ({ event }) => `device reports ${event.code}: ${event.message}` }) },
          { target: "returning", actions: { type: "beginReturn", params: { outcome: "fault", reason: "device fault before the start" } } },
        ],
      },
      states: {
        waitTelemetry: {
          always: { guard: "hasTlm", target: "clearCheck" },
          after: { tlmWait: { target: "#session.refused", actions: assign({ refusal: "no telemetry from the device", refusedByDevice: true }) } },
        },
        clearCheck: { always: [{ guard: ({ context }) => clearable(context).length === 0, target: "check" }, { target: "clearFaults" }] },
        clearFaults: {
          invoke: {
            src: "clearFaults",
            input: ({ context }) => ({ link: context.link, clock: context.clock, codes: clearable(context) }),
          },
          on: {
            FAULTS_CLEARED: {
              target: "check",
              actions: assign(({ context, event }) => {
                for (const r of event.results) {
                  const ok = r.result === "done" || r.result === "accepted";
                  context.notes.push({
                    kind: ok ? "info" : "warn",
                    code: "CLEAR",
                    message: ok ? `cleared ${r.code} left from before this session` : `device kept ${r.code}: ${r.result}${r.reason ? ` (${r.reason})` : ""}`,
                  });
                }
                return { tlm: event.tlm };
              }),
            },
          },
          after: { tlmWait: "check" },
        },
        check: {
          entry: assign(({ context }) => preflightCheck(context)),
          always: [
            { guard: and(["refused", "atRest"]), target: "#session.refused" },
            // The firmware is already bringing someone back (a companion that went away, the stop switch):
            // follow its return. Halting it to run ours would throw away the rest it is in the middle of,
            // and this session never saw the user head-down to know a rest is owed.
            { guard: and(["refused", "deviceReturning"]), target: "#session.returning.device", actions: assign(({ context }) => ({ ...beginReturnUpdate(context, { outcome: "fault", reason: context.refusal ?? "refused" }), limits: context.limits ?? safeLimits(context) })) },
            // Refused, but the user is not upright (a session started on a tilted table): bring them back.
            { guard: "refused", target: "#session.returning", actions: assign(({ context }) => ({ ...beginReturnUpdate(context, { outcome: "fault", reason: context.refusal ?? "refused" }), limits: context.limits ?? safeLimits(context) })) },
            { target: "sendLimits" },
          ],
        },
        sendLimits: {
          invoke: {
            src: "motion",
            input: ({ context }) => ({ link: context.link, clock: context.clock, cmd: limitsCommand(context), timeoutMs: 5000 }),
          },
          on: {
            STEP_DONE: [
              { guard: "pausedByUser", target: "#session.paused", actions: { type: "note", params: { kind: "info", code: "LIMITS", message: "limits sent to the device and acknowledged" } } },
              { target: "#session.running", actions: { type: "note", params: { kind: "info", code: "LIMITS", message: "limits sent to the device and acknowledged" } } },
            ],
            CMD_FAIL: [
              { guard: "atRest", target: "#session.refused", actions: assign({ refusal: ({ event }) => `device did not take the limits: ${event.message}`, refusedByDevice: true }) },
              // As in the check above: a table found tilted is brought back, never left where the user hangs.
              { target: "#session.returning", actions: assign(({ context, event }) => beginReturnUpdate(context, { outcome: "fault", reason: `device did not take the limits: ${event.message}` })) },
            ],
          },
        },
      },
    },
    running: {
      initial: "next",
      on: {
        PAUSE: { target: "paused", actions: assign({ pausedBy: "user" }) },
        STOP: { target: "returning", actions: { type: "beginReturn", params: { outcome: "aborted", reason: "stopped by the user" } } },
        DISCOMFORT: {
          target: "returning",
          actions: [
            assign({ discomfort: ({ event }) => event.kind }),
            ({ context, event }) => void context.notes.push({ kind: "discomfort", code: "DISCOMFORT", message: `user reported ${event.kind}` }),
            { type: "beginReturn", params: { outcome: "aborted", reason: "discomfort reported" } },
          ],
        },
        SUPERVISOR: [
          { guard: "supFirmware", target: "returning.device", actions: { type: "beginReturn", params: { outcome: "fault", reason: "handed to the firmware's return" } } },
          { guard: "supReduced", target: "returning", actions: [({ context, event }) => void context.notes.push({ kind: "safety", code: "SUPERVISOR", message: event.message }), { type: "beginReturn", params: { outcome: "aborted", reason: "safety supervisor", factor: REDUCED_FACTOR } }] },
          { guard: "supReturn", target: "returning", actions: [({ context, event }) => void context.notes.push({ kind: "safety", code: "SUPERVISOR", message: event.message }), { type: "beginReturn", params: { outcome: "aborted", reason: "safety supervisor" } }] },
          { guard: "supHold", target: "paused", actions: [assign({ pausedBy: "supervisor" }), ({ context, event }) => void context.notes.push({ kind: "safety", code: "HOLD", message: event.message })] },
        ],
        LINK_LOST: { target: "returning.linkLost", actions: { type: "beginReturn", params: { outcome: "fault", reason: "link lost" } } },
        DEVICE_FAULT: { target: "returning.device", actions: { type: "beginReturn", params: { outcome: "fault", reason: "device fault" } } },
        CMD_FAIL: { target: "returning", actions: { type: "beginReturn", params: { outcome: "fault", reason: "device did not carry out a command" } } },
      },
      states: {
        next: {
          always: [
            {
              guard: "allDone",
              target: "#session.returning",
              actions: [assign({ outcome: "completed", reason: "program finished" }), { type: "beginReturn", params: { outcome: "aborted", reason: "program finished" } }],
            },
            { guard: "isPump", target: "pump" },
            { guard: "isMove", target: "ramp" },
            { guard: "isForce", target: "traction" },
            { target: "hold" },
          ],
        },
        ramp: {
          entry: "prepareMove",
          invoke: { src: "motion", input: motionInput },
          on: { STEP_DONE: { target: "next", actions: assign(({ context }) => ({ index: context.index + 1, expect: holdingExpect(context) })) } },
        },
        pump: {
          entry: "prepareMove",
          invoke: { src: "motion", input: motionInput },
          on: { STEP_DONE: { target: "next", actions: assign(({ context }) => ({ index: context.index + 1, expect: holdingExpect(context) })) } },
        },
        traction: {
          entry: assign(({ context }) => {
            const a = current(context);
            const cmd = a?.kind === "force" ? clampForce(context, a.target, a.rate) : { error: "not a force action" };
            const rate = a?.kind === "force" ? a.rate : 1;
            const d = a?.kind === "force" ? Math.abs(a.target - (context.tlm?.force ?? 0)) : 0;
            return { cmd, cmdTimeoutMs: (2 * (d / rate) + 10) * 1000, expect: holdingExpect(context) };
          }),
          invoke: { src: "motion", input: motionInput },
          on: { STEP_DONE: { target: "next", actions: assign({ index: ({ context }) => context.index + 1 }) } },
        },
        hold: {
          entry: assign(({ context }) => {
            const a = current(context);
            return {
              dwellLeftMs: context.dwellLeftMs ?? (a?.kind === "dwell" ? a.seconds * 1000 : 0),
              dwellStartedAt: context.clock.now(),
              expect: holdingExpect(context),
            };
          }),
          // A timer that fires late (a busy host) can be overtaken by a pause: what is left is then 0, not less.
          exit: assign(({ context }) => ({ dwellLeftMs: Math.max(0, (context.dwellLeftMs ?? 0) - (context.clock.now() - context.dwellStartedAt)) })),
          after: { dwell: { target: "next", actions: assign({ index: ({ context }) => context.index + 1, dwellLeftMs: undefined }) } },
        },
        hist: { type: "history" },
      },
    },
    paused: {
      invoke: { src: "stop", input: ({ context }) => ({ link: context.link }) },
      entry: { type: "note", params: { kind: "info", code: "PAUSE", message: "paused: device holds, program clock frozen" } },
      after: { maxPause: { target: "returning", actions: { type: "beginReturn", params: { outcome: "aborted", reason: "paused for too long" } } } },
      on: {
        // A safety hold is lifted by the supervisor when its cause clears, never by the user's resume.
        RESUME: { guard: "pausedByUser", target: "running.hist", actions: [assign({ pausedBy: undefined }), { type: "note", params: { kind: "info", code: "RESUME", message: "resumed" } }] },
        SUPERVISOR_CLEAR: [
          {
            guard: and(["pausedBySupervisor", "userPauseUnderHold"]),
            actions: [assign({ pausedBy: "user", userPauseUnderHold: false }), { type: "note", params: { kind: "info", code: "HOLD_CLEARED", message: "supervisor hold cleared: still paused by the user" } }],
          },
          { guard: "pausedBySupervisor", target: "running.hist", actions: [assign({ pausedBy: undefined }), { type: "note", params: { kind: "info", code: "RESUME", message: "supervisor hold cleared" } }] },
        ],
        STOP: { target: "returning", actions: { type: "beginReturn", params: { outcome: "aborted", reason: "stopped by the user" } } },
        DISCOMFORT: {
          target: "returning",
          actions: [
            assign({ discomfort: ({ event }) => event.kind }),
            ({ context, event }) => void context.notes.push({ kind: "discomfort", code: "DISCOMFORT", message: `user reported ${event.kind}` }),
            { type: "beginReturn", params: { outcome: "aborted", reason: "discomfort reported" } },
          ],
        },
        SUPERVISOR: [
          { guard: "supFirmware", target: "returning.device", actions: { type: "beginReturn", params: { outcome: "fault", reason: "handed to the firmware's return" } } },
          { guard: "supReduced", target: "returning", actions: { type: "beginReturn", params: { outcome: "aborted", reason: "safety supervisor", factor: REDUCED_FACTOR } } },
          { guard: "supReturn", target: "returning", actions: { type: "beginReturn", params: { outcome: "aborted", reason: "safety supervisor" } } },
          // The supervisor sends a hold once: if it were dropped here, the user's resume would start motion
          // with the hold's cause still there.
          {
            guard: and(["supHold", "pausedByUser"]),
            actions: [assign({ pausedBy: "supervisor", userPauseUnderHold: true }), ({ context, event }) => void context.notes.push({ kind: "safety", code: "HOLD", message: event.message })],
          },
        ],
        LINK_LOST: { target: "returning.linkLost", actions: { type: "beginReturn", params: { outcome: "fault", reason: "link lost" } } },
        DEVICE_FAULT: { target: "returning.device", actions: { type: "beginReturn", params: { outcome: "fault", reason: "device fault" } } },
      },
    },
    returning: {
      initial: "haltCheck",
      on: {
        DISCOMFORT: {
          actions: [
            assign({ discomfort: ({ event }) => event.kind }),
            ({ context, event }) => void context.notes.push({ kind: "discomfort", code: "DISCOMFORT", message: `user reported ${event.kind} during the return` }),
          ],
        },
        // A program that finished is not "completed" if its return had to be left to the firmware: the
        // ramp-up must not advance on a session whose return went wrong.
        CMD_FAIL: {
          target: ".device",
          actions: [
            ({ context, event }) => void context.notes.push({ kind: "fault", code: "RETURN_FALLBACK", message: `return move failed (${event.message}): asking the device's own return` }),
            assign(({ context, event }) => (context.outcome === "completed" ? { outcome: "fault" as const, reason: `return move failed: ${event.message}` } : {})),
          ],
        },
        SUPERVISOR: [
          {
            guard: "supFirmware",
            target: ".device",
            actions: [
              ({ context, event }) => void context.notes.push({ kind: "safety", code: "SUPERVISOR", message: `${event.message}: following the device's return` }),
              assign(({ context, event }) => (context.outcome === "completed" ? { outcome: "fault" as const, reason: `safety supervisor during the return: ${event.message}` } : {})),
            ],
          },
          // Between moves (halt, rest, pause): the next move goes out at the reduced speed. A move under way
          // is sent again at that speed by its own state.
          { guard: and(["supReduced", "fullSpeed"]), actions: "slowDown" },
        ],
        LINK_LOST: {
          target: ".linkLost",
          actions: assign(({ context }) => (context.outcome === "completed" ? { outcome: "fault" as const, reason: "link lost during the return" } : {})),
        },
        DEVICE_FAULT: {
          target: ".device",
          actions: assign(({ context, event }) => (context.outcome === "completed" ? { outcome: "fault" as const, reason: `device fault during the return: ${event.code}` } : {})),
        },
      },
      states: {
        haltCheck: { always: [{ guard: "noTelemetry", target: "device" }, { target: "halt" }] },
        halt: {
          invoke: { src: "motion", input: ({ context }) => ({ link: context.link, clock: context.clock, cmd: { type: "stop" }, timeoutMs: 3000 }) },
          on: { STEP_DONE: "releaseCheck" },
        },
        releaseCheck: { always: [{ guard: ({ context }) => (context.caps?.axes.traction !== undefined && hasTraction(context)), target: "release" }, { target: "descendCheck" }] },
        release: {
          entry: assign(({ context }) => {
            const rate = returnRates(context).traction;
            const f = context.tlm?.force ?? 0;
            return { cmd: clampForce(context, 0, rate), cmdTimeoutMs: (2 * (f / rate) + 10) * 1000 };
          }),
          invoke: { src: "motion", input: motionInput },
          on: { STEP_DONE: "descendCheck", SUPERVISOR: { guard: and(["supReduced", "fullSpeed"]), target: "release", reenter: true, actions: "slowDown" } },
        },
        descendCheck: { always: [{ guard: ({ context }) => (context.caps?.axes.tilt !== undefined && (tiltNow(context) ?? 0) > UPRIGHT_TOL), target: "descend" }, { target: "restCheck" }] },
        descend: {
          entry: assign(({ context }) => returnMove(context, 0, returnSpeed(context))),
          invoke: { src: "motion", input: motionInput },
          on: { STEP_DONE: "restCheck", SUPERVISOR: { guard: and(["supReduced", "fullSpeed"]), target: "descend", reenter: true, actions: "slowDown" } },
        },
        restCheck: { always: [{ guard: ({ context }) => context.wasHeadDown && context.ret.restS > 0, target: "rest" }, { target: "toPauseCheck" }] },
        rest: {
          entry: { type: "note", params: { kind: "info", code: "REST", message: "resting near horizontal" } },
          after: { restMs: "toPauseCheck" },
        },
        toPauseCheck: { always: [{ guard: ({ context }) => isNeeded(context, "pause"), target: "toPause" }, { target: "riseCheck" }] },
        toPause: {
          entry: assign(({ context }) => returnMove(context, context.ret.pauseTilt, returnSpeed(context))),
          invoke: { src: "motion", input: motionInput },
          on: { STEP_DONE: "pause", SUPERVISOR: { guard: and(["supReduced", "fullSpeed"]), target: "toPause", reenter: true, actions: "slowDown" } },
        },
        pause: { after: { pauseMs: "riseCheck" } },
        riseCheck: { always: [{ guard: ({ context }) => isNeeded(context, "rise"), target: "rise" }, { target: "approachCheck" }] },
        rise: {
          entry: assign(({ context }) => returnMove(context, upright(context) + context.ret.approachZone, returnSpeed(context))),
          invoke: { src: "motion", input: motionInput },
          on: { STEP_DONE: "approachCheck", SUPERVISOR: { guard: and(["supReduced", "fullSpeed"]), target: "rise", reenter: true, actions: "slowDown" } },
        },
        approachCheck: { always: [{ guard: ({ context }) => isNeeded(context, "approach"), target: "approach" }, { target: "done" }] },
        approach: {
          entry: assign(({ context }) => returnMove(context, upright(context), Math.min(context.ret.approachSpeed, 1, returnSpeed(context)))),
          invoke: { src: "motion", input: motionInput },
          on: { STEP_DONE: "done", SUPERVISOR: { guard: and(["supReduced", "fullSpeed"]), target: "approach", reenter: true, actions: "slowDown" } },
        },
        device: {
          entry: { type: "note", params: { kind: "safety", code: "DEVICE_RETURN", message: "following the device's own return" } },
          invoke: {
            src: "followDevice",
            input: ({ context }) => ({
              link: context.link,
              clock: context.clock,
              upright: upright(context),
              requestReturn: context.tlm?.mode !== "returning",
              timeoutMs: 30 * 60_000,
            }),
          },
          on: {
            // Already following the firmware: later causes change nothing (re-entering would re-send return).
            SUPERVISOR: {},
            DEVICE_FAULT: {},
            DEVICE_RETURN_DONE: "done",
            FOLLOW_TIMEOUT: { target: "#session.fault", actions: assign({ outcome: "fault", reason: "the device did not reach upright in time" }) },
            CMD_FAIL: {},
          },
        },
        linkLost: {
          entry: [
            { type: "note", params: { kind: "link", code: "LINK_LOST", message: "link lost: device returning on its own (watchdog)" } },
            // The link has gone silent, so the watchdog will fire; but when only the device's direction
            // failed, this reaches it a watchdog period sooner.
            ({ context }) => void context.link.sendOnce({ type: "return" }),
          ],
          after: {
            linkGiveUp: {
              target: "#session.fault",
              actions: assign({ outcome: "fault", reason: "link lost: device returning on its own (watchdog); the link did not come back" }),
            },
          },
          on: {
            LINK_CLOSED: {
              target: "#session.fault",
              actions: assign({ outcome: "fault", reason: "link closed: device returning on its own (watchdog)" }),
            },
            LINK_RESTORED: { target: "device", actions: { type: "note", params: { kind: "link", code: "LINK_RESTORED", message: "link restored: following the device's return (no motion resumes without a new start)" } } },
            LINK_LOST: {},
            CMD_FAIL: {},
            SUPERVISOR: {},
            DEVICE_FAULT: {},
          },
        },
        done: { type: "final" },
      },
      onDone: [
        { guard: "completed", target: "completed" },
        { guard: "isFault", target: "fault" },
        { target: "aborted" },
      ],
    },
    completed: { type: "final" },
    aborted: { type: "final" },
    fault: { type: "final" },
    refused: { type: "final" },
  },
});

function isNeeded(ctx: SessionContext, what: "pause" | "rise" | "approach"): boolean {
  if (ctx.caps?.axes.tilt === undefined) return false;
  const up = upright(ctx);
  const t = tiltNow(ctx) ?? up;
  if (what === "pause") return ctx.ret.pauseS > 0 && ctx.wasHeadDown && t > ctx.ret.pauseTilt + UPRIGHT_TOL;
  if (what === "rise") return t > up + ctx.ret.approachZone + UPRIGHT_TOL;
  return t > up + 0.2;
}

function motionInput({ context }: { context: SessionContext }) {
  return { link: context.link, clock: context.clock, cmd: context.cmd ?? { error: "no command" }, timeoutMs: context.cmdTimeoutMs };
}

function holdingExpect(ctx: SessionContext): Expectation {
  return ctx.tiltTarget === undefined ? { phase: "idle" } : { phase: "holding", tiltTarget: ctx.tiltTarget };
}

function prepareMove(context: SessionContext): Partial<SessionContext> {
  const a = current(context);
  if (a?.kind !== "move") return { cmd: { error: "not a move action" } };
  const m = clampMove(context, a.target, a.speed, false);
  const from = tiltNow(context);
  return {
    cmd: m.cmd,
    cmdTimeoutMs: moveTimeoutMs(context, from, m.target, a.speed),
    tiltTarget: m.target,
    expect: { phase: "moving", tiltFrom: from ?? m.target, tiltTarget: m.target },
  };
}

/**
 * Latched faults the companion may ask the device to clear before a session: their causes are physical
 * states the firmware re-checks (link back, switch released, lock engaged, upright). Critical faults
 * (sensor, motor, force) are left for a person to look at: the session is refused while they stand.
 */
function clearable(ctx: SessionContext): string[] {
  const tlm = ctx.tlm;
  if (!tlm) return [];
  return tlm.faults.filter((f) => {
    const spec = faultSpec(f);
    return spec !== undefined && spec.latched && spec.severity !== "critical";
  });
}

/** Limits for a return when preflight failed before combining them: the device's own. */
function safeLimits(ctx: SessionContext): EffectiveLimits | undefined {
  if (!ctx.caps) return undefined;
  try {
    return effectiveLimits(ctx.caps.axes, {}, {});
  } catch {
    return undefined;
  }
}

function preflightCheck(ctx: SessionContext): Partial<SessionContext> {
  const caps = ctx.caps;
  const tlm = ctx.tlm;
  if (!caps) return { refusal: "device not connected", refusedByDevice: true };
  if (!tlm) return { refusal: "no telemetry from the device", refusedByDevice: true };
  if (ctx.checkDevice) {
    try {
      const why = ctx.checkDevice(caps);
      if (typeof why === "string") return { refusal: why };
    } catch (e) {
      return { refusal: (e as Error).message };
    }
  }
  if (tlm.sw !== "ok") return { refusal: `patient stop switch is ${tlm.sw === "pressed" ? "pressed" : "not connected"}: connect it and release it before starting` };
  if (tlm.faults.length > 0) return { refusal: `device reports ${tlm.faults.join(", ")}: resolve and clear it before starting` };
  if (tlm.mode === "returning" || tlm.mode === "fault") return { refusal: `device is ${tlm.mode}: wait until it is idle and upright` };
  const headDown = ctx.actions.some((a) => a.kind === "move" && a.target > 0);
  if (headDown && !tlm.lock) return { refusal: "ankle lock is not engaged: this program goes head-down" };
  let limits: EffectiveLimits;
  try {
    limits = effectiveLimits(caps.axes, ctx.profileLimits, ctx.program.limits ?? {});
  } catch (e) {
    return { refusal: (e as Error).message };
  }
  const chk = checkActions(ctx.actions, limits);
  if (!chk.ok) return { refusal: `program "${ctx.program.name}" refused: ${chk.message}`, limits };
  // Against this device's own cap on time head-down: its cut-off is a last resort, never the way a
  // normal session ends.
  if (caps.axes.tilt) {
    try {
      const plan = planActions(ctx.actions, { startTilt: tlm.tilt ?? caps.axes.tilt.upright, accel: caps.axes.tilt.accelMax ?? 10, startForce: Math.max(0, tlm.force ?? 0) });
      // The return as this session would run it (before any slowdown), so the check and the return agree.
      const back = returnRates({ caps, ret: ctx.ret, limits, speedFactor: 1 });
      const inv = checkInvertedTime(plan, caps, limits, undefined, { returnSpeed: back.tilt, returnRate: back.traction });
      if (!inv.ok) return { refusal: `program "${ctx.program.name}" refused: ${inv.message}`, limits };
    } catch (e) {
      return { refusal: `program "${ctx.program.name}" cannot be planned on this device: ${(e as Error).message}`, limits };
    }
  }
  return { limits };
}

/** The `limits` message: the effective limits, with upright always reachable (for the return). */
function limitsCommand(ctx: SessionContext): CommandBody | { error: string } {
  const lim = ctx.limits;
  if (!lim) return { error: "no effective limits" };
  const out: CommandBody = { type: "limits" };
  if (lim.axes.tilt) Object.assign(out, { tiltMin: Math.min(lim.tiltMin, upright(ctx)), tiltMax: lim.tiltMax, speedMax: lim.speedMax });
  if (lim.axes.traction) Object.assign(out, { forceMax: lim.forceMax, rateMax: lim.rateMax });
  return out;
}

/**
 * State nodes in which a telemetry sample can do more than sampleUpdate: an eventless transition (a new
 * sample may enable its guard, e.g. the preflight waiting for the first sample) or a TLM handler of their
 * own. Transient nodes are listed too; they never rest in a snapshot.
 */
const SAMPLE_SENSITIVE: ReadonlySet<unknown> = new Set(
  collectNodes(sessionMachine.root).filter((n) => n.always !== undefined || (n !== sessionMachine.root && "TLM" in n.on)),
);

type MachineNode = (typeof sessionMachine)["root"];

function collectNodes(n: MachineNode): MachineNode[] {
  return [n, ...Object.values(n.states).flatMap((c) => collectNodes(c as MachineNode))];
}

/**
 * True when a TLM event in this snapshot would only apply sampleUpdate: no transition, no action, no
 * actor started or stopped. The session then applies the sample without running the machine (the
 * fleet's hot path: ten samples a second per device); the safety supervisor still sees every sample.
 */
export function sampleIsPassive(s: { status: string; _nodes: readonly unknown[] }): boolean {
  return s.status === "active" && !s._nodes.some((n) => SAMPLE_SENSITIVE.has(n));
}
