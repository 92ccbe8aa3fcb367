// `invert run [program] --device URI [--json] [--speed N] [--profile NAME]`: runs one session to its end.
// Plain timestamped progress lines on stderr (not with --json), the summary object on stdout with --json,
// exit code 0 only when the session completed. Ctrl-C means "stop and return slowly": the command never
// exits before the session has ended (upright, or handed to the firmware's own return).
// The core is runCommand(), so a live terminal view, keys and recording can wrap it (RunExtensions).
import type { Command } from "commander";
import type { CapsMsg } from "../../../protocol/index.js";
import type { Program } from "../../programs/schema.js";
import { getBuiltin } from "../../programs/library.js";
import { openDevice, type DeviceConnection } from "../../link/connect.js";
import { parseDeviceUri, redactDeviceUri } from "../../link/device-uri.js";
import { startSession, type SessionEvent, type SessionHandle, type SessionSnapshot, type SessionSummary } from "../../session/run-session.js";
import type { LimitSet } from "../../limits/limit-set.js";
import { resolveProgram } from "./programs.js";

import { EXIT as CODES, EXIT_CODE_HELP, exitForOutcome } from "../exit-codes.js";
import { createFrontEnd } from "../live/front-end.js";
import { clock, deg, newtons, timeOfDay } from "../live/format.js";

/** Session outcome -> exit code; the codes themselves are documented in src/cli/exit-codes.ts. */
export const EXIT = { completed: CODES.ok, aborted: CODES.notCompleted, usage: CODES.usage, fault: CODES.device, refused: CODES.refused } as const;

export interface RunOptions {
  device?: string;
  json?: boolean;
  /** Simulator only; a string as typed on the command line, or a number. */
  speed?: string | number;
  profile?: string;
  simConfig?: unknown;
}

export interface RunIO {
  out(text: string): void;
  err(text: string): void;
  /** Registers an interrupt handler (Ctrl-C); returns its removal. Absent: no signal handling. */
  onInterrupt?(cb: () => void): () => void;
  now?(): Date;
}

export interface RunContext {
  conn: DeviceConnection;
  program: Program;
  guest: boolean;
}

/** Hooks for richer front ends (TTY live view, keys, recording). */
export interface RunExtensions {
  /** Called once the session has started; may return a cleanup, run when it has ended. */
  attach?(handle: SessionHandle, ctx: RunContext): void | (() => void | Promise<void>);
  /** false: the caller shows progress itself, so no plain progress lines are printed. */
  plainProgress?: boolean;
  /** Soft limits from a profile (used when --profile is handled by the caller). */
  profileLimits?: LimitSet;
  /** Extra preflight check of the connected device (a profile's weight and height against its rating). */
  checkDevice?: (caps: CapsMsg) => string | void;
  /** The program to run, when the caller chose it (a profile's ramp-up step); overrides the argument. */
  program?: Program;
}

export interface RunResult {
  exitCode: number;
  summary?: SessionSummary;
}

export class RunError extends Error {
  override readonly name = "RunError";
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}

function parseSpeed(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === "number" ? v : Number(v);
  if ((typeof v === "string" && v.trim() === "") || !Number.isFinite(n) || n <= 0 || n > 1000) {
    throw new RunError(`--speed: must be a number above 0 and at most 1000 (got "${v}")`);
  }
  return n;
}

function describe(s: SessionSnapshot): string {
  const parts: string[] = [s.phase];
  if (s.step) parts.push(`step ${s.step.index} ${s.step.label}`);
  if (s.cycle) parts.push(`cycle ${s.cycle.k}/${s.cycle.n}`);
  if (s.phase === "returning") parts.push(s.state.replace(/^returning\./, ""));
  if (s.tilt !== undefined) parts.push(`tilt ${deg(s.tilt)}`);
  if (s.force !== undefined && (s.limits?.axes.traction ?? false)) parts.push(`force ${newtons(s.force)}`);
  if (s.remainingS !== undefined) parts.push(`about ${clock(s.remainingS)} left`);
  if (s.link.status !== "up") parts.push(`link ${s.link.status}`);
  return parts.join(" | ");
}

/** Runs one session; never throws for session outcomes (only for bad input, as RunError). */
export async function runCommand(programRef: string | undefined, opts: RunOptions, io: RunIO, ext: RunExtensions = {}): Promise<RunResult> {
  const now = io.now ?? (() => new Date());
  const deviceText = opts.device ?? "sim";
  let uri;
  try {
    uri = parseDeviceUri(deviceText);
  } catch (e) {
    throw new RunError(`--device: ${(e as Error).message}`);
  }
  const speed = parseSpeed(opts.speed);
  if (speed !== undefined && uri.kind !== "sim") {
    throw new RunError(`--speed: only the simulator can run faster than real time; ${redactDeviceUri(uri)} is a real device`);
  }
  if (opts.profile !== undefined && ext.profileLimits === undefined) {
    throw new RunError("--profile: profiles are not supported by this build of `invert run`");
  }
  let program: Program;
  let guest = false;
  if (ext.program) program = ext.program;
  else if (programRef === undefined) {
    program = getBuiltin("beginner")!;
    guest = true;
    io.err("invert: guest beginner session (no program or profile given): the built-in beginner program, about 20° for 1.5 min\n");
  } else {
    try {
      program = resolveProgram(programRef);
    } catch (e) {
      throw new RunError((e as Error).message);
    }
  }

  // With --json the progress lines still go to stderr; stdout carries only the summary object.
  const plain = ext.plainProgress !== false;
  const say = (line: string): void => {
    if (plain) io.err(`[${timeOfDay(now())}] ${line}\n`);
  };
  say(`connecting to ${redactDeviceUri(uri)}${speed && speed !== 1 ? ` (simulator at ${speed}x)` : ""}`);
  let conn: DeviceConnection;
  try {
    conn = await openDevice(deviceText, { ...(speed !== undefined ? { speed } : {}), ...(opts.simConfig !== undefined ? { simConfig: opts.simConfig } : {}) });
  } catch (e) {
    throw new RunError((e as Error).message, EXIT.fault);
  }

  const handle = startSession({
    link: conn.link,
    clock: conn.clock,
    program,
    ...(ext.profileLimits ? { profileLimits: ext.profileLimits } : {}),
    ...(ext.checkDevice ? { checkDevice: ext.checkDevice } : {}),
  });
  let lastLine = "";
  let lastAt = -Infinity;
  const offUpdate = handle.onUpdate((s) => {
    const key = `${s.phase}|${s.state}|${s.step?.index}|${s.cycle?.k}|${s.link.status}`;
    // A line on every change of phase, step, cycle or link, and a heartbeat line every 30 s of session time.
    if (key !== lastLine || s.elapsedS - lastAt >= 30) {
      lastLine = key;
      lastAt = s.elapsedS;
      say(`+${s.elapsedS.toFixed(1)}s ${describe(s)}`);
    }
  });
  const offEvent = handle.onEvent((e: SessionEvent) => {
    if (e.code === "END") return;
    say(`+${e.atS.toFixed(1)}s ${e.source === "device" ? "device " : ""}${e.kind}: ${e.code} ${e.message}`);
  });
  let interrupts = 0;
  const offInterrupt = io.onInterrupt?.(() => {
    interrupts++;
    if (interrupts === 1) {
      io.err("\ninvert: stopping: returning slowly to upright (the command ends when the return is done)\n");
      handle.stop();
    } else {
      io.err("invert: still returning slowly; the command ends once the table is upright or the device's own return has taken over\n");
      handle.stop();
    }
  });
  const cleanup = ext.attach?.(handle, { conn, program, guest });

  const summary = await handle.done;
  offUpdate();
  offEvent();
  offInterrupt?.();
  if (typeof cleanup === "function") await cleanup();
  await conn.close();

  const exitCode = exitForOutcome(summary.outcome, summary.refusedByDevice);
  if (opts.json) {
    io.out(`${JSON.stringify({ ...summary, device: redactDeviceUri(uri), ...(speed !== undefined ? { speed } : {}), guest }, null, 2)}\n`);
  } else if (plain) {
    const s = summary;
    say(
      `session ${s.outcome}${s.reason && s.outcome !== "completed" ? ` (${s.reason})` : ""}: ${s.program}, ${clock(s.durationS)}, ` +
        `max ${deg(s.maxAngle)}, max speed ${s.maxSpeed.toFixed(1)}°/s${s.maxForce > 0 ? `, max force ${newtons(s.maxForce)}` : ""}` +
        `${s.discomfort ? ", discomfort reported" : ""}`,
    );
  }
  return { exitCode, summary };
}

function processIO(): RunIO {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    onInterrupt(cb) {
      process.on("SIGINT", cb);
      process.on("SIGTERM", cb);
      return () => {
        process.off("SIGINT", cb);
        process.off("SIGTERM", cb);
      };
    },
  };
}

export function register(program: Command): void {
  program
    .command("run")
    .description("Run a session on a device (default: the embedded simulator) and return slowly at the end")
    .argument("[program]", "built-in program name or a .yaml/.json file (default: the guest beginner session)")
    .option("-d, --device <uri>", "sim | serial:/dev/ttyUSB0[?baud=115200] | mqtt://[user:pass@]host:port/<deviceId> | mqtts://...", "sim")
    .option("--json", "print only the session summary, as JSON, on stdout (progress lines stay on stderr)")
    .option("--speed <n>", "simulator only: run N times faster than real time")
    .option("--profile <name>", "run for a user profile (ramp-up and soft limits)")
    .option("--sim-model <model>", "embedded simulator only: table (default), stretcher or combo (for traction programs)")
    .addHelpText(
      "after",
      `
Examples:
  invert run --speed 50                      guest beginner session on the embedded simulator, 50x
  invert run oscillation --speed 20 --json   summary as JSON on stdout
  invert run beginner --device serial:/dev/ttyUSB0
  invert run my-program.yaml --device mqtt://broker.local:1883/table-1
  invert run combo --sim-model combo --speed 50  table and harness program on a combo simulator
  invert run --profile ann --speed 50        ann's next ramp-up step (see \`invert profile --help\`)

Without --device, the session runs on the embedded simulator, in this process. --speed is refused
for real devices. Without a program or profile, a guest beginner session runs (about 20°, 1.5 min).

On a terminal: a live view (angle against the limits, phase, step, cycle, time left, link) and keys:
  space  pause / resume          s  stop and return slowly
  p      discomfort (pain): stop at once and return slowly, recorded; d  the same for dizziness
  Ctrl-C stop and return slowly; the command ends only once the table is upright (or the
         device's own return has taken over); pressing it again does not cut the return short.
Piped or in CI: plain timestamped lines on stderr. --json: the summary object alone on stdout.

${EXIT_CODE_HELP}`,
    )
    .action(async (programRef: string | undefined, o: { device: string; json?: boolean; speed?: string; profile?: string; simModel?: string }) => {
      if (o.simModel !== undefined && !["table", "stretcher", "combo"].includes(o.simModel)) {
        throw new RunError(`--sim-model: expected table, stretcher or combo (got "${o.simModel}")`);
      }
      if (o.simModel !== undefined && o.device.trim() !== "sim") throw new RunError("--sim-model: only for the embedded simulator (--device sim)");
      // Live view on a terminal, keys when stdin is one, plain lines otherwise (src/cli/live/).
      const fe = createFrontEnd(processIO(), { json: o.json === true, speed: o.speed === undefined ? undefined : Number(o.speed), stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
      const io = fe.io;
      const ext = o.profile === undefined ? {} : await profileExtensions(o.profile, programRef, o.device, io);
      const simConfig = o.simModel === undefined ? {} : { simConfig: { model: o.simModel } };
      const r = await runCommand(programRef, { device: o.device, json: o.json === true, speed: o.speed, profile: o.profile, ...simConfig }, io, fe.extend(ext));
      process.exitCode = fe.interrupted() && r.exitCode !== EXIT.completed ? CODES.interrupted : r.exitCode;
    });
}

/** --profile: the profile's ramp-up step or its cap on the given program, its soft limits, and recording. */
async function profileExtensions(name: string, programRef: string | undefined, device: string, io: RunIO): Promise<RunExtensions> {
  const { openProfileSession } = await import("../../users/session-setup.js");
  // Resolved apart from the profile, so a bad program is reported as such, not as a --profile problem.
  let program: Program | undefined;
  if (programRef !== undefined) {
    try {
      program = resolveProgram(programRef);
    } catch (e) {
      throw new RunError((e as Error).message);
    }
  }
  let ps: ReturnType<typeof openProfileSession>;
  try {
    ps = openProfileSession(name, program, { device });
  } catch (e) {
    // Screening, conditions, ramp-up and rating refusals are safety refusals; an unknown profile or an
    // unreadable store is bad input.
    throw new RunError(`--profile: ${(e as Error).message}`, (e as Error).name === "UserError" ? EXIT.refused : EXIT.usage);
  }
  io.err(`invert: ${ps.explanation}\n`);
  return {
    program: ps.program,
    profileLimits: ps.profileLimits,
    checkDevice: (caps) => ps.checkDevice(caps),
    attach(handle, ctx) {
      ps.record(handle, { clock: ctx.conn.clock, onError: (line) => io.err(`invert: recording: ${line}\n`) });
      return () => ps.close();
    },
  };
}
