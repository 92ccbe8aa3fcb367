// Frame codec: `<json>*<CRC16 hex>\n`. Knows nothing of the domain beyond the schemas it is handed.
import { isUtf8 } from "node:buffer";
import { crc16AndHighBit, crc16String, crcHex } from "./crc16.js";
import { MAX_LINE_BYTES, PROTO_VERSION, SEQ_MODULO } from "./constants.js";
import { SCHEMAS, type AnyMsg, type MsgType, type Outgoing } from "./messages.js";
import { isPlainValidTelemetry } from "./fast-tlm.js";

export type DropReason = "overlong" | "format" | "crc" | "json" | "version" | "type" | "schema";
export const DROP_REASONS: readonly DropReason[] = ["overlong", "format", "crc", "json", "version", "type", "schema"];

export type DecodeResult<M extends AnyMsg = AnyMsg> =
  | { ok: true; msg: M }
  | { ok: false; reason: DropReason; detail: string };

/** Which message types a receiver accepts; anything else is dropped as "type". */
export type Accept = ReadonlySet<MsgType>;

const STAR = 0x2a;

/** Encodes a complete message (with v and seq) as one frame line, terminator included. */
export function encodeFrame(msg: AnyMsg): string {
  const payload = JSON.stringify(msg);
  return `${payload}*${crcHex(crc16String(payload))}\n`;
}

/** Encodes the MQTT form: the same JSON, without CRC or terminator. */
export function encodeJson(msg: AnyMsg): string {
  return JSON.stringify(msg);
}

/** Stamps `v` and a wrapping per-sender `seq` on outgoing messages. */
export class Sequencer {
  private next: number;
  constructor(start = 0) {
    this.next = start % SEQ_MODULO;
  }
  stamp<M extends AnyMsg>(out: Outgoing<M>): M {
    const seq = this.next;
    this.next = (this.next + 1) % SEQ_MODULO;
    return { v: PROTO_VERSION, seq, ...out } as unknown as M;
  }
}

/**
 * Decodes one line (terminator already removed; a trailing `\r` is tolerated). Never throws.
 * `line` may be raw bytes (serial) or a string (tests, tools).
 */
export function decodeFrame(line: Uint8Array | string, accept?: Accept): DecodeResult {
  let bytes: Buffer;
  if (typeof line === "string") bytes = Buffer.from(line, "utf8");
  else bytes = line instanceof Buffer ? line : Buffer.from(line.buffer, line.byteOffset, line.byteLength);
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  // Frame = payload '*' 4 hex digits.
  if (end < 7 || bytes[end - 5] !== STAR) return fail("format", "missing *CRC suffix");
  const want = hex4(bytes, end - 4);
  if (want < 0) {
    const crcText = String.fromCharCode(bytes[end - 4], bytes[end - 3], bytes[end - 2], bytes[end - 1]);
    return fail("format", `bad CRC digits "${printable(crcText)}"`);
  }
  const payloadEnd = end - 5;
  const r = crc16AndHighBit(bytes, payloadEnd);
  const got = r & 0xffff;
  if (want !== got) return fail("crc", `CRC ${crcHex(want)} != computed ${crcHex(got)}`);
  let text: string;
  // Pure ASCII (the usual case) needs no UTF-8 validation, and latin1 decoding is the cheapest.
  if (r < 0x10000) text = bytes.toString("latin1", 0, payloadEnd);
  else {
    const view = bytes.subarray(0, payloadEnd);
    if (!isUtf8(view)) return fail("format", "payload is not valid UTF-8");
    text = view.toString("utf8");
  }
  return decodeJson(text, accept);
}

/** Value of 4 uppercase hex digits at bytes[at..at+4), or -1. */
function hex4(b: Uint8Array, at: number): number {
  let v = 0;
  for (let i = at; i < at + 4; i++) {
    const c = b[i];
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return -1;
    v = (v << 4) | d;
  }
  return v;
}

/** Decodes the JSON payload (MQTT form, or a frame's payload after its CRC checked). Never throws. */
export function decodeJson(text: string, accept?: Accept): DecodeResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail("json", "payload is not JSON");
  }
  return validate(raw, accept);
}

/**
 * Decodes one MQTT payload (the JSON without CRC): the same bound and UTF-8 check as a serial line, so a
 * message is dropped for the same reason on either transport. Never throws.
 */
export function decodeMqttPayload(payload: Uint8Array, accept?: Accept): DecodeResult {
  if (payload.length > MAX_LINE_BYTES) return fail("overlong", `payload of ${payload.length} bytes`);
  if (!isUtf8(payload)) return fail("format", "payload is not valid UTF-8");
  // mqtt.js hands over Buffers: decode in place (this runs for every telemetry sample of every device).
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  return decodeJson(buf.toString("utf8"), accept);
}

/** Validates an already-parsed value against the message schemas. Never throws. */
export function validate(raw: unknown, accept?: Accept): DecodeResult {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail("json", "payload is not a JSON object");
  const obj = raw as Record<string, unknown>;
  if (obj.v !== PROTO_VERSION) return fail("version", `unsupported protocol version ${JSON.stringify(obj.v)}`);
  const type = obj.type;
  if (typeof type !== "string" || !Object.prototype.hasOwnProperty.call(SCHEMAS, type)) {
    return fail("type", `unknown message type ${JSON.stringify(type)}`.slice(0, 80));
  }
  if (accept && !accept.has(type as MsgType)) return fail("type", `message type "${type}" not accepted here`);
  // Fast path for telemetry, the bulk of all traffic; anything it is unsure of goes through zod.
  if (type === "tlm" && isPlainValidTelemetry(obj)) return { ok: true, msg: obj as unknown as AnyMsg };
  const parsed = SCHEMAS[type as MsgType].safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "(message)";
    return fail("schema", `${type}.${where}: ${issue?.message ?? "invalid"}`);
  }
  return { ok: true, msg: parsed.data as AnyMsg };
}

function fail(reason: DropReason, detail: string): DecodeResult {
  return { ok: false, reason, detail };
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?");
}
