// The side effects of the session machine, as invoked callback actors. Stopping the motor lives here,
// not in exit actions: XState does not run exit actions when an actor is stopped (statelyai/xstate#4630),
// but it does run an invoked actor's cleanup, so a move that has not finished sends `stop` when its state
// is left for any reason, the session actor being stopped included.
import { fromCallback } from "xstate";
import type { AckMsg, CapsMsg, Clock, TelemetryMsg } from "../../protocol/index.js";
import type { CommandBody, CommandCallbacks, LinkError } from "../link/device-link.js";

/** What the machine needs from a device link (DeviceLink implements it). */
export interface SessionLink {
  sendCommand(body: CommandBody, cbs?: CommandCallbacks): string;
  sendOnce(body: CommandBody): string;
  startHandshake(cb: (err: LinkError | undefined, caps?: CapsMsg) => void): void;
  onTelemetry(cb: (t: TelemetryMsg) => void): () => void;
}

export type CommandFailEvent = { type: "CMD_FAIL"; message: string; result: AckMsg["result"] | "no-ack" | "timeout" | "clamp" };

export interface MotionInput {
  link: SessionLink;
  clock: Clock;
  /** The clamped command, or why none could be made (the session then returns). */
  cmd: CommandBody | { error: string };
  /** No "done" within this long is a failure (the device did not finish the motion). */
  timeoutMs: number;
}

/** Position and force a finished motion settles within (the device's own "done" uses 0.2 deg / 2 N). */
const DONE_TILT_DEG = 0.3;
const DONE_VEL = 0.05;
const DONE_FORCE_N = 3;

/**
 * Telemetry showing the motion finished. A lost "done" frame (the device sends it once) must not stall
 * the session until the timeout, so telemetry can complete an accepted motion too.
 */
function reached(cmd: CommandBody, t: TelemetryMsg): boolean {
  if (cmd.type === "move") return Math.abs(t.tilt - cmd.target) <= DONE_TILT_DEG && Math.abs(t.vel) < DONE_VEL;
  if (cmd.type === "force") return t.force !== undefined && Math.abs(t.force - cmd.target) <= DONE_FORCE_N && t.mode !== "moving";
  return false;
}

/** Sends one command and reports STEP_DONE when the device says "done" (or, for stop, any success). */
export const motionActor = fromCallback<{ type: "noop" }, MotionInput>(({ sendBack, input }) => {
  let finished = false;
  let live = true;
  const report = (e: { type: "STEP_DONE" } | CommandFailEvent): void => {
    if (finished || !live) return;
    finished = true;
    sendBack(e);
  };
  const cmd = input.cmd;
  if ("error" in cmd) {
    // Reported after start, so the machine is in a stable state when it arrives.
    const t = input.clock.setTimeout(() => report({ type: "CMD_FAIL", message: cmd.error, result: "clamp" }), 0);
    return () => {
      live = false;
      input.clock.clearTimeout(t);
    };
  }
  const motion = cmd.type === "move" || cmd.type === "force";
  let accepted = false;
  const offTlm = motion
    ? input.link.onTelemetry((t) => {
        if (accepted && reached(cmd, t)) report({ type: "STEP_DONE" });
      })
    : () => {};
  input.link.sendCommand(cmd, {
    onAck: (a) => {
      if (a.result === "accepted" && motion) {
        accepted = true;
        return;
      }
      if (a.result === "accepted" || a.result === "done") report({ type: "STEP_DONE" });
      else report({ type: "CMD_FAIL", message: `${cmd.type} ${a.result}${a.reason ? `: ${a.reason}` : ""}`, result: a.result });
    },
    onNoAck: (e) => report({ type: "CMD_FAIL", message: e.message, result: "no-ack" }),
  });
  const timer = input.clock.setTimeout(
    () => report({ type: "CMD_FAIL", message: `${cmd.type} not finished after ${Math.round(input.timeoutMs / 1000)} s`, result: "timeout" }),
    input.timeoutMs,
  );
  return () => {
    live = false;
    offTlm();
    input.clock.clearTimeout(timer);
    // Left before the device finished: the motion must not carry on by itself.
    if (!finished && motion) input.link.sendCommand({ type: "stop" });
  };
});

/** Fire-and-forget `stop` (pause, halting before a return); the ack only matters to the link's retries. */
export const stopActor = fromCallback<{ type: "noop" }, { link: SessionLink }>(({ input }) => {
  input.link.sendCommand({ type: "stop" });
  return () => {};
});

export const handshakeActor = fromCallback<{ type: "noop" }, { link: SessionLink }>(({ sendBack, input }) => {
  let live = true;
  input.link.startHandshake((err, caps) => {
    if (!live) return;
    if (err || !caps) sendBack({ type: "HANDSHAKE_FAIL", message: err?.message ?? "no caps" });
    else sendBack({ type: "HANDSHAKE_OK", caps });
  });
  return () => {
    live = false;
  };
});

export interface FollowInput {
  link: SessionLink;
  clock: Clock;
  upright: number;
  /** Whether the device's own return must be requested (it is not already returning). */
  requestReturn: boolean;
  timeoutMs: number;
}

/**
 * The firmware drives the return; the companion asks for it if needed and follows telemetry until the
 * device is upright, idle and without traction.
 */
export const followDeviceReturnActor = fromCallback<{ type: "noop" }, FollowInput>(({ sendBack, input }) => {
  let live = true;
  let asked = false;
  const ask = (): void => {
    if (asked) return;
    asked = true;
    input.link.sendCommand({ type: "return" }, {
      onAck: (a) => {
        if (live && (a.result === "rejected" || a.result === "unsupported" || a.result === "failed")) {
          sendBack({ type: "DEVICE_NOTE", message: `device refused return: ${a.result}${a.reason ? ` (${a.reason})` : ""}` });
        }
      },
    });
  };
  if (input.requestReturn) ask();
  const off = input.link.onTelemetry((t) => {
    if (!live) return;
    const upright = Math.abs(t.tilt - input.upright) <= 1;
    const released = (t.force ?? 0) <= 5;
    if (upright && released && t.mode !== "returning" && t.mode !== "moving") sendBack({ type: "DEVICE_RETURN_DONE" });
    // Still inverted and the firmware is not bringing the user back: ask for its return.
    else if (t.mode === "idle" || t.mode === "holding" || t.mode === "fault") ask();
  });
  const timer = input.clock.setTimeout(() => {
    if (live) sendBack({ type: "FOLLOW_TIMEOUT" });
  }, input.timeoutMs);
  return () => {
    live = false;
    off();
    input.clock.clearTimeout(timer);
  };
});

export interface ClearInput {
  link: SessionLink;
  clock: Clock;
  codes: string[];
}

/**
 * Asks the device to clear latched faults left from before this session (a watchdog expiry when the
 * previous companion disconnected, a released stop switch...). The firmware clears only what is no longer
 * true; the answers and the next telemetry after them go back to the machine, whose check decides.
 */
export const clearFaultsActor = fromCallback<{ type: "noop" }, ClearInput>(({ sendBack, input }) => {
  let live = true;
  let waiting = input.codes.length;
  const results: { code: string; result: string; reason?: string }[] = [];
  let off: () => void = () => {};
  const settle = (): void => {
    // An answer after the state was left (a stop during preflight) would subscribe a listener no cleanup removes.
    if (--waiting > 0 || !live) return;
    // The faults list that counts is in telemetry after every answer; the firmware may take a step or
    // two to drop a cleared code, so wait (a few samples at most) for the cleared ones to disappear.
    const cleared = results.filter((r) => r.result === "done" || r.result === "accepted").map((r) => r.code);
    let samples = 0;
    off = input.link.onTelemetry((tlm) => {
      if (!live) return;
      if (cleared.some((c) => tlm.faults.includes(c)) && ++samples < 5) return;
      live = false;
      sendBack({ type: "FAULTS_CLEARED", results, tlm });
    });
  };
  for (const code of input.codes) {
    let answered = false;
    input.link.sendCommand({ type: "clear", code }, {
      onAck: (a) => {
        // One answer per code: an "accepted" may be followed by "done".
        if (answered) return;
        answered = true;
        results.push({ code, result: a.result, ...(a.reason ? { reason: a.reason } : {}) });
        settle();
      },
      onNoAck: () => {
        if (answered) return;
        answered = true;
        results.push({ code, result: "no-ack" });
        settle();
      },
    });
  }
  return () => {
    live = false;
    off();
  };
});
