// The terminal front end of `invert run`: wraps runCommand's I/O and extensions with
// - on a terminal (stdout is a TTY, no --json): the plan preview, a live area redrawn in place a few
//   times a second, event lines above it, and the summary at the end;
// - otherwise: a plan line among runCommand's plain timestamped progress lines (stderr);
// - when stdin is a terminal: keys (space, s, p, d, Ctrl-C in raw mode), whatever the output mode.
// Ctrl-C, as a signal or as a raw-mode byte, goes to runCommand's interrupt handler: stop and return
// slowly; the command only ends when the session has ended.
import { DEFAULT_DEVICE_AXES } from "../../limits/device-defaults.js";
import { redactDeviceUri } from "../../link/device-uri.js";
import { planProgram, planReturnAfter, sessionReturnProfile } from "../../programs/plan.js";
import type { Program } from "../../programs/schema.js";
import type { SessionHandle } from "../../session/run-session.js";
import type { RunContext, RunExtensions, RunIO } from "../commands/run.js";
import { fit, timeOfDay } from "./format.js";
import { listenKeys, type KeyCommand, type KeyInput } from "./keys.js";
import { renderLive, renderPlanPreview, renderSummary, type PlanPreview } from "./render.js";
import { LiveScreen } from "./screen.js";

export interface TerminalOut {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export interface FrontEndOptions {
  json: boolean;
  speed?: number;
  stdout: TerminalOut;
  stderr: TerminalOut;
  stdin: KeyInput;
  /** Live area refresh period, ms (real time). */
  refreshMs?: number;
  now?: () => Date;
}

export interface FrontEnd {
  io: RunIO;
  /** Adds the front end to extensions from elsewhere (profile recording), keeping theirs. */
  extend(ext: RunExtensions): RunExtensions;
  /** Ctrl-C (signal or key) was pressed at least once. */
  interrupted(): boolean;
}

/** Plan preview figures for a program on the design-default device (before its own caps are known). */
export function previewOf(program: Program): PlanPreview | undefined {
  try {
    const tilt = DEFAULT_DEVICE_AXES.tilt;
    const plan = planProgram(program, { startTilt: tilt?.upright ?? -80, accel: tilt?.accelMax ?? 10 });
    const returnS = planReturnAfter(plan, sessionReturnProfile(DEFAULT_DEVICE_AXES, program.limits)).totalS;
    return { program: program.name, plan, returnS, tilt: plan.actions.some((a) => a.kind === "move") };
  } catch {
    // The session refuses a program it cannot plan, with its own message; the preview just stays out.
    return undefined;
  }
}

export function createFrontEnd(base: RunIO, o: FrontEndOptions): FrontEnd {
  const live = o.stdout.isTTY === true && !o.json;
  const keys = (o.stdin as { isTTY?: boolean }).isTTY === true;
  const width = () => Math.max(40, (o.stdout.columns ?? 100) - 1);
  const now = o.now ?? base.now ?? (() => new Date());
  const screen = live ? new LiveScreen((s) => void o.stdout.write(s)) : undefined;
  let frame: () => string[] = () => [];
  let interrupts = 0;
  const interruptCbs = new Set<() => void>();

  const err = (text: string): void => {
    // On a live terminal, notes go above the live area (same terminal, so it must not tear the area).
    if (screen && o.stderr.isTTY) screen.print(text.replace(/^\n+/, ""), frame());
    else base.err(text);
  };

  const interrupt = (): void => {
    interrupts++;
    for (const cb of [...interruptCbs]) cb();
  };

  const io: RunIO = {
    out: base.out,
    err,
    onInterrupt(cb) {
      interruptCbs.add(cb);
      const onSignal = (): void => interrupt();
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      return () => {
        interruptCbs.delete(cb);
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      };
    },
    ...(base.now ? { now: base.now } : {}),
  };

  const onKey = (handle: SessionHandle, c: KeyCommand): void => {
    const phase = handle.snapshot().phase;
    const note = (line: string) => err(`invert: ${line}\n`);
    switch (c) {
      case "interrupt":
        return interrupt();
      case "toggle-pause":
        if (phase === "paused") {
          if (handle.resume()) note("resuming");
          else note("held for safety: the session resumes by itself once the cause clears (s stops and returns)");
        } else if (phase === "running") {
          note("paused: holding here (space resumes, s stops and returns)");
          handle.pause();
        }
        return;
      case "stop":
        if (phase === "running" || phase === "paused" || phase === "preflight" || phase === "connecting") {
          note("stop: returning slowly to upright");
          handle.stop();
        }
        return;
      case "discomfort-pain":
      case "discomfort-dizziness": {
        const kind = c === "discomfort-pain" ? "pain" : "dizziness";
        if (phase === "completed" || phase === "aborted" || phase === "fault" || phase === "refused") return;
        note(`discomfort (${kind}) reported: stopping and returning slowly`);
        handle.discomfort(kind);
        return;
      }
    }
  };

  const attach = (handle: SessionHandle, ctx: RunContext): (() => Promise<void>) => {
    const preview = previewOf(ctx.program);
    const device = redactDeviceUri(ctx.conn.uri);
    const say = (line: string) => base.err(`[${timeOfDay(now())}] ${line}\n`);
    if (screen && preview) screen.print(renderPlanPreview(preview, width()).join("\n"));
    else if (preview) say(renderPlanPreview(preview, 200, 0)[0]);

    const offKeys = keys ? listenKeys(o.stdin, (c) => onKey(handle, c)) : undefined;
    // Raw mode must never outlive the process, whatever ends it.
    const restoreOnExit = (): void => offKeys?.();
    process.once("exit", restoreOnExit);

    let timer: ReturnType<typeof setInterval> | undefined;
    let offEvents: (() => void) | undefined;
    if (screen) {
      frame = () =>
        renderLive({ snap: handle.snapshot(), program: ctx.program.name, device, ...(o.speed !== undefined ? { speed: o.speed } : {}), keys, interrupts, width: width() });
      offEvents = handle.onEvent((e) => {
        if (e.code === "END") return;
        screen.print(fit(`[${timeOfDay(now())}] +${e.atS.toFixed(1)}s ${e.source === "device" ? "device " : ""}${e.kind}: ${e.code} ${e.message}`, width()), frame());
      });
      screen.draw(frame());
      timer = setInterval(() => screen.draw(frame()), o.refreshMs ?? 200);
    }
    return async () => {
      const summary = await handle.done;
      if (timer !== undefined) clearInterval(timer);
      offEvents?.();
      offKeys?.();
      process.off("exit", restoreOnExit);
      if (screen) {
        screen.draw(frame());
        screen.close();
        frame = () => [];
        o.stdout.write(`${renderSummary(summary, width()).join("\n")}\n`);
      }
    };
  };

  return {
    io,
    interrupted: () => interrupts > 0,
    extend(ext) {
      return {
        ...ext,
        ...(live ? { plainProgress: false } : {}),
        attach(handle, ctx) {
          const theirs = ext.attach?.(handle, ctx);
          const mine = attach(handle, ctx);
          return async () => {
            await mine();
            if (typeof theirs === "function") await theirs();
          };
        },
      };
    },
  };
}
