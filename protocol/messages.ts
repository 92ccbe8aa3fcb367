// The wire messages, one zod schema each. Both the companion and the device simulator import these,
// so the two sides can never disagree about a field. Unknown extra fields are stripped (forward
// compatibility: newer peers may add optional fields); a known field out of range drops the frame.
import { z } from "zod";
import { PROTO_VERSION } from "./constants.js";

const u32 = z.number().int().min(0).max(0xffffffff);
const header = {
  v: z.literal(PROTO_VERSION),
  seq: u32,
};
/** Command id: makes commands idempotent (a repeated id is acknowledged again, never acted on twice). */
const cmdId = z.string().min(1).max(40);
const degrees = z.number().min(-180).max(180);
const newtons = z.number().min(0).max(5000);
/** Fault and event codes: short uppercase mnemonics, listed in PROTOCOL.md's fault table. */
export const FaultCode = z.string().regex(/^[A-Z][A-Z0-9_]{1,31}$/);

// ---- companion -> device ----
export const Hello = z.object({
  ...header,
  type: z.literal("hello"),
  client: z.string().max(64),
  proto: z.array(z.number().int().min(1).max(255)).min(1).max(8),
});
export const Heartbeat = z.object({ ...header, type: z.literal("hb") });
export const Move = z.object({
  ...header,
  type: z.literal("move"),
  id: cmdId,
  axis: z.literal("tilt"),
  target: degrees,
  speed: z.number().positive().max(90),
});
export const Force = z.object({
  ...header,
  type: z.literal("force"),
  id: cmdId,
  axis: z.literal("traction"),
  target: newtons,
  rate: z.number().positive().max(1000),
});
export const Stop = z.object({ ...header, type: z.literal("stop"), id: cmdId });
export const Return = z.object({ ...header, type: z.literal("return"), id: cmdId });
export const Limits = z.object({
  ...header,
  type: z.literal("limits"),
  id: cmdId,
  tiltMin: degrees.optional(),
  tiltMax: degrees.optional(),
  speedMax: z.number().positive().max(90).optional(),
  forceMax: newtons.optional(),
  rateMax: z.number().positive().max(1000).optional(),
});
export const Clear = z.object({ ...header, type: z.literal("clear"), id: cmdId, code: FaultCode });

// ---- device -> companion ----
export const TiltCaps = z.object({
  min: degrees,
  max: degrees,
  upright: degrees,
  speedMax: z.number().positive().max(90),
  returnSpeed: z.number().positive().max(90),
  accelMax: z.number().positive().max(1000).optional(),
  approachSpeed: z.number().positive().max(90).optional(),
});
export const TractionCaps = z.object({
  max: newtons,
  rateMax: z.number().positive().max(1000),
  returnRate: z.number().positive().max(1000).optional(),
});
export const Caps = z.object({
  ...header,
  type: z.literal("caps"),
  model: z.string().max(64),
  serial: z.string().max(64),
  fw: z.string().max(32),
  proto: z.number().int().min(1).max(255),
  axes: z.object({ tilt: TiltCaps.optional(), traction: TractionCaps.optional() }),
  watchdogMs: z.number().int().min(50).max(60_000),
  // Section 8: never less often than 1 Hz; slower telemetry could not be supervised.
  tlmHz: z.number().min(1).max(1000),
  /** Changes on every boot, so a peer can tell a reboot (power loss) from a dropped link. */
  boot: z.string().max(32).optional(),
  maxInvertedS: z.number().positive().optional(),
  userMaxKg: z.number().positive().optional(),
  userMaxCm: z.number().positive().optional(),
});
export const AckResult = z.enum(["accepted", "done", "rejected", "busy", "unsupported", "failed"]);
export const Ack = z.object({
  ...header,
  type: z.literal("ack"),
  id: cmdId,
  result: AckResult,
  reason: z.string().max(200).optional(),
});
export const SwitchState = z.enum(["ok", "pressed", "disconnected"]);
export const DeviceMode = z.enum(["idle", "moving", "holding", "stopping", "returning", "fault"]);
export const Telemetry = z.object({
  ...header,
  type: z.literal("tlm"),
  t: z.number().int().min(0),
  tilt: z.number().min(-360).max(360),
  tilt2: z.number().min(-360).max(360),
  vel: z.number().min(-1000).max(1000),
  force: z.number().min(-100).max(10_000).optional(),
  current: z.number().min(-100).max(100),
  lock: z.boolean(),
  sw: SwitchState,
  mode: DeviceMode,
  faults: z.array(FaultCode).max(32),
  rxErr: u32,
  /** Phase of the firmware's own return profile while mode is "returning". */
  ret: z.enum(["descend", "rest", "pause", "rise", "approach", "release"]).optional(),
});
export const Severity = z.enum(["info", "warn", "fault", "critical"]);
export const Event = z.object({
  ...header,
  type: z.literal("evt"),
  code: FaultCode,
  severity: Severity,
  msg: z.string().max(200),
});

export const CompanionMessage = z.discriminatedUnion("type", [Hello, Heartbeat, Move, Force, Stop, Return, Limits, Clear]);
export const DeviceMessage = z.discriminatedUnion("type", [Caps, Ack, Telemetry, Event]);
export const Message = z.discriminatedUnion("type", [
  Hello, Heartbeat, Move, Force, Stop, Return, Limits, Clear, Caps, Ack, Telemetry, Event,
]);

export type HelloMsg = z.infer<typeof Hello>;
export type HeartbeatMsg = z.infer<typeof Heartbeat>;
export type MoveMsg = z.infer<typeof Move>;
export type ForceMsg = z.infer<typeof Force>;
export type StopMsg = z.infer<typeof Stop>;
export type ReturnMsg = z.infer<typeof Return>;
export type LimitsMsg = z.infer<typeof Limits>;
export type ClearMsg = z.infer<typeof Clear>;
export type CapsMsg = z.infer<typeof Caps>;
export type AckMsg = z.infer<typeof Ack>;
export type TelemetryMsg = z.infer<typeof Telemetry>;
export type EventMsg = z.infer<typeof Event>;
export type CompanionMsg = z.infer<typeof CompanionMessage>;
export type DeviceMsg = z.infer<typeof DeviceMessage>;
export type AnyMsg = z.infer<typeof Message>;
export type MsgType = AnyMsg["type"];
export type AckResultT = z.infer<typeof AckResult>;
export type SeverityT = z.infer<typeof Severity>;
export type DeviceModeT = z.infer<typeof DeviceMode>;
export type SwitchStateT = z.infer<typeof SwitchState>;

/** A message as a sender builds it: the codec stamps `v` and `seq`. */
export type Outgoing<M extends AnyMsg = AnyMsg> = M extends AnyMsg ? Omit<M, "v" | "seq"> : never;

export const COMPANION_TYPES = ["hello", "hb", "move", "force", "stop", "return", "limits", "clear"] as const;
export const DEVICE_TYPES = ["caps", "ack", "tlm", "evt"] as const;

export const SCHEMAS = {
  hello: Hello, hb: Heartbeat, move: Move, force: Force, stop: Stop, return: Return, limits: Limits, clear: Clear,
  caps: Caps, ack: Ack, tlm: Telemetry, evt: Event,
} as const;
