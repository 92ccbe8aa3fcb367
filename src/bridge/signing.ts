// Signing of motion commands (start, resume) sent to the bridge over MQTT. Anyone who can publish on the
// broker can ask for a stop, but only a holder of the device's key can make a table move.
//
// Canonical form (what the HMAC covers), UTF-8:
//   "invert-cmd-v1\n" + deviceId + "\n" + action + "\n" + canonicalJson(payload without "sig")
// canonicalJson: JSON with object keys sorted by UTF-16 code unit order at every depth, no whitespace,
// arrays kept in order, `undefined` members dropped. The payload must carry `ts` (sender's wall clock,
// milliseconds since the Unix epoch) and `nonce` (8..64 characters of [A-Za-z0-9_-]); both are signed.
// `sig` is the lowercase hex HMAC-SHA256 of the canonical form under the device's key.
// Binding the device id and action into the signed text stops a signed `start` for one table from
// being replayed as a `start` for another, or as a `resume`.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const SIG_PREFIX = "invert-cmd-v1";
/** Signed commands older than this are refused (as MAVLink signing does after one minute). */
export const MAX_AGE_MS = 60_000;
/** Tolerated clock skew into the future; beyond it a timestamp is refused as implausible. */
export const MAX_FUTURE_MS = 30_000;
const NONCE = /^[A-Za-z0-9_-]{8,64}$/;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new TypeError("non-finite number in signed payload");
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

export function canonicalForm(deviceId: string, action: string, payload: Record<string, unknown>): string {
  const { sig: _sig, ...rest } = payload;
  return `${SIG_PREFIX}\n${deviceId}\n${action}\n${canonicalJson(rest)}`;
}

function hmacHex(key: Uint8Array, text: string): string {
  return createHmac("sha256", key).update(text, "utf8").digest("hex");
}

export interface WallClock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** Returns a copy of `payload` with `ts`, `nonce` and `sig` set: what a client publishes. */
export function signCommand<P extends Record<string, unknown>>(
  payload: P,
  key: Uint8Array,
  now: number,
  target: { deviceId: string; action: string },
  nonce: string = randomBytes(12).toString("base64url"),
): P & { ts: number; nonce: string; sig: string } {
  const body = { ...payload, ts: now, nonce } as P & { ts: number; nonce: string };
  const sig = hmacHex(key, canonicalForm(target.deviceId, target.action, body));
  return { ...body, sig };
}

export type VerifyFailure = "unsigned" | "malformed" | "stale" | "future" | "before-start" | "bad-signature" | "replayed" | "overloaded";
export type VerifyResult = { ok: true } | { ok: false; code: VerifyFailure; reason: string };

export interface VerifierOptions {
  clock: WallClock;
  maxAgeMs?: number;
  maxFutureMs?: number;
  /** Hard bound on remembered nonces; the staleness window bounds it in normal use. */
  maxNonces?: number;
  /**
   * Wall time this verifier's process started. Nonces live in memory only, so a payload signed before
   * then may already have run in an earlier process: it is refused.
   */
  notBefore?: number;
}

/**
 * Verifies signed commands for any number of devices. Nonces are remembered only while their timestamp
 * is inside the acceptance window: anything older is refused as stale anyway, so the cache never needs
 * more than one window of history.
 */
export class CommandVerifier {
  private readonly clock: WallClock;
  private readonly maxAge: number;
  private readonly maxFuture: number;
  private readonly maxNonces: number;
  private readonly notBefore: number;
  /** key "<device>\n<nonce>" -> time after which the entry can be forgotten. Insertion-ordered. */
  private readonly seen = new Map<string, number>();

  constructor(opts: VerifierOptions) {
    this.clock = opts.clock;
    this.maxAge = opts.maxAgeMs ?? MAX_AGE_MS;
    this.maxFuture = opts.maxFutureMs ?? MAX_FUTURE_MS;
    this.maxNonces = opts.maxNonces ?? 100_000;
    this.notBefore = opts.notBefore ?? -Infinity;
  }

  get rememberedNonces(): number {
    return this.seen.size;
  }

  verify(deviceId: string, action: string, payload: Record<string, unknown>, key: Uint8Array | undefined): VerifyResult {
    const { sig, ts, nonce } = payload;
    if (sig === undefined && ts === undefined && nonce === undefined) {
      return { ok: false, code: "unsigned", reason: `unsigned: "${action}" moves the device and must carry ts, nonce and sig` };
    }
    if (key === undefined) {
      return { ok: false, code: "unsigned", reason: `no signing key is configured for device "${deviceId}": motion commands are refused` };
    }
    if (typeof sig !== "string" || !/^[0-9a-f]{64}$/.test(sig)) {
      return { ok: false, code: "malformed", reason: "sig: must be 64 lowercase hex characters (HMAC-SHA256)" };
    }
    if (typeof ts !== "number" || !Number.isSafeInteger(ts)) {
      return { ok: false, code: "malformed", reason: "ts: must be an integer (milliseconds since the Unix epoch)" };
    }
    if (typeof nonce !== "string" || !NONCE.test(nonce)) {
      return { ok: false, code: "malformed", reason: "nonce: must be 8 to 64 characters of A-Z a-z 0-9 _ -" };
    }
    const now = this.clock.now();
    this.expire(now);
    if (now - ts > this.maxAge) {
      return { ok: false, code: "stale", reason: `stale: signed ${Math.round((now - ts) / 1000)} s ago (limit ${this.maxAge / 1000} s)` };
    }
    if (ts - now > this.maxFuture) {
      return { ok: false, code: "future", reason: `ts: ${Math.round((ts - now) / 1000)} s in the future (clock skew limit ${this.maxFuture / 1000} s)` };
    }
    if (ts < this.notBefore) {
      return { ok: false, code: "before-start", reason: `signed ${this.notBefore - ts} ms before this bridge started: sign again now that it is up` };
    }
    let expected: string;
    try {
      expected = hmacHex(key, canonicalForm(deviceId, action, payload));
    } catch (e) {
      return { ok: false, code: "malformed", reason: `payload: ${(e as Error).message}` };
    }
    // Signature before the nonce cache: a forger must not be able to burn a legitimate client's nonces.
    if (!timingSafeEqual(Buffer.from(expected, "hex"), Buffer.from(sig, "hex"))) {
      return { ok: false, code: "bad-signature", reason: "bad signature: HMAC-SHA256 does not match the device key" };
    }
    const k = `${deviceId}\n${nonce}`;
    if (this.seen.has(k)) {
      return { ok: false, code: "replayed", reason: `replayed: nonce "${nonce}" was already used` };
    }
    if (this.seen.size >= this.maxNonces) {
      return { ok: false, code: "overloaded", reason: "too many signed commands inside the replay window; retry later" };
    }
    this.seen.set(k, Math.max(ts, now) + this.maxAge + this.maxFuture);
    return { ok: true };
  }

  private expire(now: number): void {
    // Entries are inserted with roughly increasing expiry; stop at the first live one.
    for (const [k, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(k);
    }
  }
}

/** Parses a key written as "hex:...", "base64:..." or bare hex / base64. At least 16 bytes. */
export function parseKey(text: string): Buffer {
  const s = text.trim();
  let buf: Buffer;
  if (s.startsWith("hex:")) buf = decodeHex(s.slice(4));
  else if (s.startsWith("base64:")) buf = decodeB64(s.slice(7));
  else if (/^[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0) buf = decodeHex(s);
  else buf = decodeB64(s);
  if (buf.length < 16) throw new Error(`must be at least 16 bytes (got ${buf.length})`);
  return buf;
}

function decodeHex(s: string): Buffer {
  if (!/^[0-9a-fA-F]*$/.test(s) || s.length % 2 !== 0) throw new Error("not valid hex");
  return Buffer.from(s, "hex");
}

function decodeB64(s: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) throw new Error("not valid hex or base64");
  return Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}
