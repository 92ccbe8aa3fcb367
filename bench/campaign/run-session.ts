// One campaign session, fully determined by its seed: a random program and profile, a random fault
// schedule, the whole stack in-process on a VirtualClock (session machine, supervisor, device link,
// codec and framing, firmware, physics), invariants on every physics step, and the session recorded
// into a SQLite store whose content is checked against what the session reported.
import { VirtualClock, mulberry32, type AnyMsg, type MessageTransport, type TelemetryMsg } from "../../protocol/index.js";
import { createEmbeddedSim, type SimTruth } from "../../device-sim/index.js";
import { DeviceLink } from "../../src/link/device-link.js";
import { startSession, type SessionSummary } from "../../src/session/run-session.js";
import { planProgram } from "../../src/programs/plan.js";
import type { EffectiveLimits } from "../../src/limits/effective.js";
import { attachRecorder, type Store } from "../../src/store/index.js";
import { applySchedule, isSensorFault, lastCauseEnds, randomSchedule, type FaultKind, type ScheduledFault } from "./fault-schedule.js";
import { InvariantChecker, type Violation } from "./invariants.js";
import { pick, randomProgram } from "./random-program.js";

export interface SessionResult {
  seed: number;
  program: string;
  outcome: SessionSummary["outcome"] | "none";
  faults: FaultKind[];
  violations: Violation[];
  /** Virtual seconds simulated. */
  simS: number;
  samples: number;
}

/** Commands the companion sent, by id, to check that none was acted on twice. */
function recordIds(inner: MessageTransport, ids: Set<string>): MessageTransport {
  return {
    send(msg: AnyMsg) {
      if ("id" in msg && typeof msg.id === "string") ids.add(msg.id);
      inner.send(msg);
    },
    setHandlers: (h) => inner.setHandlers(h),
    get stats() {
      return inner.stats;
    },
    close: () => inner.close(),
  };
}

/** After the session and the last fault, how long the device may take to come to rest upright. */
const SETTLE_BUDGET_MS = 30 * 60_000;

export interface RunOptions {
  /** A store to record into (history check); omitted: no history check. */
  store?: Store;
  /** Replay: describe what was generated. */
  verbose?: (line: string) => void;
  /** Replay: every physics step's ground truth. */
  trace?: (s: SimTruth) => void;
}

export async function runCampaignSession(seed: number, opts: RunOptions = {}): Promise<SessionResult> {
  const rng = mulberry32(seed);
  const { program, profileLimits } = randomProgram(rng, seed);
  // The design default rest (60 s) in one session out of four; shorter ones keep the campaign fast.
  const rest = pick(rng, [5, 10, 20, 60]);
  const pause = pick(rng, [2, 10]);
  const simConfig = { model: "combo", tilt: { restS: rest, pauseS: pause } };
  const clock = new VirtualClock();
  const sim = createEmbeddedSim({ clock, config: simConfig, seed });
  const device = sim.device;
  const cfg = device.config;
  const ids = new Set<string>();
  const link = new DeviceLink(recordIds(sim.companion, ids), clock, { idPrefix: `c${seed.toString(36)}-` });
  const plannedS = planProgram(program, { startTilt: cfg.tilt.upright, accel: cfg.tilt.accelMax }).totalS;
  const horizonMs = Math.max(5000, (plannedS + 30) * 1000);
  const schedule: ScheduledFault[] = randomSchedule(rng, horizonMs);
  opts.verbose?.(`program ${JSON.stringify(program)}`);
  opts.verbose?.(`profile limits ${JSON.stringify(profileLimits)}; sim ${JSON.stringify(simConfig)}; planned ${plannedS.toFixed(1)} s`);
  for (const f of schedule) opts.verbose?.(`fault ${JSON.stringify(f)}`);

  const checker = new InvariantChecker(cfg);
  const session = startSession({ link, clock, program, profileLimits, ret: { restS: rest, pauseS: pause } });
  const recorder = opts.store
    ? attachRecorder(opts.store, session, { kind: "program", programName: program.name, program, device: "sim" }, { clock })
    : undefined;
  let samples = 0;
  session.onSample((_t: TelemetryMsg) => samples++);
  let limits: EffectiveLimits | undefined;
  let ended = false;
  let returnAt: number | undefined;
  let linkOkSince = 0;
  session.onEvent((e) => {
    opts.verbose?.(`t=${(e.t / 1000).toFixed(2)}s session ${e.source} ${e.kind} ${e.code}: ${e.message}`);
    if (e.code === "RETURN" && returnAt === undefined) returnAt = e.t;
    // While the link is down the device has not heard of the session's return (it keeps its last
    // command or runs its own return, checked as mode "returning"): the session's return is judged
    // again once the link is back.
    if (e.code === "LINK_LOST") linkOkSince = Infinity;
    if (e.code === "LINK_RESTORED") linkOkSince = e.t;
    if (e.code === "END") ended = true;
    if (e.code === "LIMITS" || limits === undefined) limits = session.snapshot().limits ?? limits;
  });
  const t0 = clock.now();
  const sensorFaultAt = schedule.find((f) => isSensorFault(f.kind))?.at;
  let sensorFault = false;
  // The session's return is judged once its stop has crossed the link (worst injected latency) and the
  // brake from full speed is over.
  const maxLatency = schedule.reduce((m, f) => (f.kind === "latency" ? Math.max(m, f.value + (f.jitter ?? 0)) : m), 0);
  const brakeMs = (cfg.tilt.speedMax / cfg.tilt.accelMax) * 1000;
  device.onStep((s: SimTruth) => {
    if (sensorFaultAt !== undefined && s.t - t0 >= sensorFaultAt) sensorFault = true;
    const sessionReturning = !ended && returnAt !== undefined && s.t >= Math.max(returnAt, linkOkSince) + maxLatency + brakeMs + 500;
    checker.step(s, { limits, sensorFault, sessionReturning });
    opts.trace?.(s);
  });
  applySchedule(schedule, t0, device, session, clock);

  const causesEnd = t0 + lastCauseEnds(schedule) + 100;
  let restSince: number | undefined;
  const settled = (): boolean => {
    if (!ended || clock.now() < causesEnd) return false;
    const s = device.truth();
    const still = s.poweredOn && s.mode !== "returning" && s.mode !== "stopping" && Math.abs(s.vel) < 1e-3;
    if (!still) {
      restSince = undefined;
      return false;
    }
    restSince ??= clock.now();
    // At rest for 2 s: long enough for a pending stall retry or watchdog to show itself.
    return clock.now() - restSince >= Math.max(2000, cfg.motor.stallRetryMs + 500);
  };
  // The companion goes away once its session is over (as the CLI does), so the device's watchdog is
  // exercised after every session too.
  let closed = false;
  const ok = clock.runUntil(() => {
    if (ended && !closed) {
      closed = true;
      void link.close();
    }
    return settled();
  }, horizonMs + SETTLE_BUDGET_MS + 3_600_000);
  const final = device.truth();
  if (!ok) {
    checker.fail({ t: final.t, kind: "stuck", message: `did not settle: session ${ended ? "ended" : `still ${session.snapshot().state}`}, device ${final.mode} ${final.ret ?? ""} at ${final.tilt.toFixed(2)}` });
  } else checker.end(final, sensorFault);

  const acted = device.actedCommands();
  if (acted > ids.size) checker.fail({ t: final.t, kind: "acted-twice", message: `device acted on ${acted} commands, only ${ids.size} distinct ids were sent` });

  let outcome: SessionResult["outcome"] = "none";
  if (ended) {
    const summary = await session.done;
    outcome = summary.outcome;
    if (recorder && opts.store) {
      const rec = await recorder.finished;
      const id = recorder.sessionId;
      if (!rec || id === undefined) checker.fail({ t: final.t, kind: "history", message: `session not recorded (failed=${recorder.failed})` });
      else {
        const n = opts.store.sessions.samples(id).length;
        if (rec.outcome !== summary.outcome) checker.fail({ t: final.t, kind: "history", message: `history says ${rec.outcome}, session ended ${summary.outcome}` });
        if (n !== samples) checker.fail({ t: final.t, kind: "history", message: `history holds ${n} samples, session produced ${samples}` });
      }
    }
  }
  device.stop();
  return { seed, program: program.name, outcome, faults: schedule.map((f) => f.kind), violations: checker.violations, simS: (clock.now() - t0) / 1000, samples };
}

/** A session that throws is a finding too (a crash of the stack), never a crash of the campaign. */
export async function runCampaignSessionSafe(seed: number, opts: RunOptions = {}): Promise<SessionResult> {
  try {
    return await runCampaignSession(seed, opts);
  } catch (err) {
    const message = `session threw: ${(err as Error)?.stack ?? String(err)}`;
    return { seed, program: "?", outcome: "none", faults: [], violations: [{ t: 0, kind: "crash", message }], simS: 0, samples: 0 };
  }
}
