// What the bridge needs from one served device. The production implementation (session-device.ts)
// drives the session controller, so effective limits and plan checks apply to every request; tests
// may substitute a recording double to exercise the MQTT side alone.

export type LinkState = "connecting" | "online" | "offline";

/** The retained JSON published on <base>/<id>/state. */
export interface DeviceState {
  link: LinkState;
  /** Session phase ("idle" when no session has run since the bridge started). */
  phase: string;
  angle: number | null;
  force: number | null;
  /** Device mode from telemetry: idle, moving, holding, stopping, returning, fault. */
  mode: string | null;
  stop_switch: "ok" | "pressed" | "disconnected" | null;
  ankle_lock: boolean | null;
  /** Running program, or the one selected for the next start. */
  program: string | null;
  profile: string | null;
  faults: string[];
  /** Outcome and reason of the last finished session. */
  outcome?: string;
  reason?: string;
}

export interface DeviceInfo {
  model?: string;
  fw?: string;
  axes: { tilt: boolean; traction: boolean };
}

export type ActionResult = { ok: true; data?: Record<string, unknown> } | { ok: false; reason: string };

export interface StartRequest {
  /** A built-in program name, or an inline program object (validated by the programs module). */
  program: unknown;
  profile?: string;
}

export interface BridgeDevice {
  readonly id: string;
  info(): DeviceInfo | undefined;
  state(): DeviceState;
  /** `urgent` marks changes published at once (phase, link, outcome); others are rate-limited. */
  onChange(cb: (urgent: boolean) => void): () => void;
  start(req: StartRequest): Promise<ActionResult>;
  pause(): ActionResult;
  resume(): ActionResult;
  stop(): ActionResult;
  discomfort(kind: "pain" | "dizziness" | "other"): ActionResult;
  /** Brings the device upright: stops the session, or asks the firmware for its slow return when idle. */
  returnUpright(): Promise<ActionResult>;
  /**
   * Acknowledges a latched device fault (e.g. WATCHDOG after the link was lost) so a new start can run;
   * without a code, every fault the device reports. Never while a session runs.
   */
  clear(code?: string): Promise<ActionResult>;
  /** Chooses the program a later start without a program will run; never moves anything. */
  select(program: string): ActionResult;
  /** Stops any session (slow return) and closes the link. */
  close(): Promise<void>;
}

export function emptyState(): DeviceState {
  return { link: "connecting", phase: "idle", angle: null, force: null, mode: null, stop_switch: null, ankle_lock: null, program: null, profile: null, faults: [] };
}
