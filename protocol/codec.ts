// Frame codec: `<json>*<CRC16 hex>\n`. Knows nothing of the domain beyond the schemas it is handed.
import { isUtf8 } from "node:buffer";
import { crc16, crc16String, crcHex } from "./crc16.js";
import { PROTO_VERSION, SEQ_MODULO } from "./constants.js";
import { SCHEMAS, type AnyMsg, type MsgType, type Outgoing } from "./messages.js";

export type DropReason = "overlong" | "format" | "crc" | "json" | "version" | "type" | "schema";
export const DROP_REASONS: readonly DropReason[] = ["overlong", "format", "crc", "json", "version", "type", "schema"];

export type DecodeResult<M extends AnyMsg = AnyMsg> =
  | { ok: true; msg: M }
  | { ok: false; reason: DropReason; detail: string };

/** Which message types a receiver accepts; anything else is dropped as "type". */
export type Accept = ReadonlySet<MsgType>;

const STAR = 0x2a;
const HEX = /^[0-9A-F]{4}$/;

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
  let bytes: Uint8Array;
  if (typeof line === "string") bytes = Buffer.from(line, "utf8");
  else bytes = line;
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  // Frame = payload '*' 4 hex digits.
  if (end < 7 || bytes[end - 5] !== STAR) return fail("format", "missing *CRC suffix");
  const crcText = String.fromCharCode(bytes[end - 4], bytes[end - 3], bytes[end - 2], bytes[end - 1]);
  if (!HEX.test(crcText)) return fail("format", `bad CRC digits "${printable(crcText)}"`);
  const payloadEnd = end - 5;
  const want = parseInt(crcText, 16);
  const got = crc16(bytes, 0, payloadEnd);
  if (want !== got) return fail("crc", `CRC ${crcText} != computed ${crcHex(got)}`);
  const view = bytes instanceof Buffer ? bytes.subarray(0, payloadEnd) : Buffer.from(bytes.buffer, bytes.byteOffset, payloadEnd);
  if (!isAscii(view) && !isUtf8(view)) return fail("format", "payload is not valid UTF-8");
  return decodeJson(view.toString("utf8"), accept);
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

function isAscii(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] >= 0x80) return false;
  return true;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?");
}
