// A message transport carries validated protocol messages in both directions. It knows nothing of the
// domain: serial framing, MQTT topics and the in-process pipe all present this one interface, to the
// companion and to the device simulator alike.
import type { DropReason } from "../codec.js";
import type { DropCounters } from "../frame-reader.js";
import type { AnyMsg, MsgType } from "../messages.js";

export interface TransportStats {
  rxFrames: number;
  txFrames: number;
  drops: DropCounters;
}

export interface TransportHandlers {
  onMessage(msg: AnyMsg): void;
  onDrop?(reason: DropReason, detail: string): void;
  /** The underlying channel closed or failed; `error` is absent on a deliberate close. */
  onClose?(error?: Error): void;
}

export interface MessageTransport {
  /** Sends a complete, stamped message. Never throws for link reasons: a write to a dead link is dropped. */
  send(msg: AnyMsg): void;
  setHandlers(h: TransportHandlers): void;
  readonly stats: TransportStats;
  close(): Promise<void>;
}

/** The side a transport serves decides which message types it accepts. */
export type Role = "companion" | "device";

export const ACCEPTS: Record<Role, ReadonlySet<MsgType>> = {
  // A companion accepts what devices send, and the other way round.
  companion: new Set<MsgType>(["caps", "ack", "tlm", "evt"]),
  device: new Set<MsgType>(["hello", "hb", "move", "force", "stop", "return", "limits", "clear"]),
};

/** A raw byte duplex: a serial port, one end of a pseudo-terminal pair, or an in-process pipe. */
export interface BytePort {
  write(data: Uint8Array): void;
  onData(cb: (chunk: Uint8Array) => void): void;
  onClose(cb: (error?: Error) => void): void;
  close(): Promise<void>;
}
