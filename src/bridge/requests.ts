// Request decoding and bookkeeping, independent of MQTT: payload parsing with one-line reasons,
// per-action validation, and the transaction cache that makes every request run at most once.
import { z } from "zod";
import type { RequestAction } from "./topics.js";

export interface Response {
  transaction?: string | number;
  status: "ok" | "error";
  reason?: string;
  [k: string]: unknown;
}

const Transaction = z.union([z.string().min(1).max(100), z.number().int()]);

const PAYLOADS = {
  start: z.object({ program: z.union([z.string().min(1).max(64), z.record(z.string(), z.unknown())]).optional(), profile: z.string().min(1).max(64).optional() }),
  pause: z.object({}),
  resume: z.object({}),
  stop: z.object({}),
  return: z.object({}),
  discomfort: z.object({ kind: z.enum(["pain", "dizziness", "other"]).default("other") }),
  select: z.object({ program: z.string().min(1).max(64) }),
  clear: z.object({ code: z.string().regex(/^[A-Z][A-Z0-9_]{1,31}$/, "must be a fault code such as WATCHDOG").optional() }),
} satisfies Record<RequestAction, z.ZodType>;

export type RequestPayload<A extends RequestAction> = z.infer<(typeof PAYLOADS)[A]>;

export type Decoded =
  | { ok: true; body: Record<string, unknown>; transaction?: string | number }
  | { ok: false; reason: string; transaction?: string | number };

/** Parses a request payload. An empty payload is `{}` (a bare "stop" must always work). */
export function decodePayload(buf: Uint8Array): Decoded {
  const text = Buffer.from(buf).toString("utf8").trim();
  if (text === "") return { ok: true, body: {} };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `payload: invalid JSON (${(e as Error).message.split(/[\r\n]/)[0]})` };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { ok: false, reason: "payload: must be a JSON object" };
  const body = v as Record<string, unknown>;
  let transaction: string | number | undefined;
  if (body.transaction !== undefined) {
    const t = Transaction.safeParse(body.transaction);
    if (!t.success) return { ok: false, reason: "transaction: must be a string (1-100 characters) or an integer" };
    transaction = t.data;
  }
  return { ok: true, body, transaction };
}

const ENVELOPE = new Set(["transaction", "ts", "nonce", "sig", "source"]);

function printableName(k: string): string {
  return k.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Validates the action's own fields (envelope fields are ignored); unknown fields are refused by name. */
export function validateAction<A extends RequestAction>(action: A, body: Record<string, unknown>): { ok: true; value: RequestPayload<A> } | { ok: false; reason: string } {
  const own: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!ENVELOPE.has(k)) own[k] = v;
  const r = (PAYLOADS[action] as z.ZodType).safeParse(own);
  if (!r.success) {
    const i = r.error.issues[0];
    return { ok: false, reason: `${i.path.length ? i.path.join(".") : "payload"}: ${i.message}` };
  }
  const extra = Object.keys(own).filter((k) => !(k in (PAYLOADS[action] as z.ZodObject).shape));
  // The name is the sender's: control characters are escaped so the refusal stays one line.
  if (extra.length) return { ok: false, reason: `${printableName(extra[0])}: unknown field for "${action}"` };
  return { ok: true, value: r.data as RequestPayload<A> };
}

/**
 * Requests that only ever bring the user back (or keep them from moving): they run whatever the payload,
 * its size, the transaction cache or the retain flag say, since they are idempotent and safety must never
 * depend on a well-formed message.
 */
export const SAFETY_ACTIONS: ReadonlySet<RequestAction> = new Set(["stop", "discomfort", "return"]);

/**
 * Largest request payload the bridge reads. Real requests are well under 1 KiB (an inline program a few
 * KiB); decoding a 100 MB payload would block the event loop longer than the device watchdog.
 */
export const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * Remembers transactions per device and action: a duplicate (a QoS 1 redelivery, a client retry, a request
 * that reached two bridges) is answered again from the cache and never executed twice. While the first copy
 * is still running, duplicates are dropped; its answer goes out once it is ready. The action is part of the
 * key, so a request of another kind that happens to reuse an id (two clients both numbering from 1) is a
 * different transaction. Safety actions do not use the cache at all (see SAFETY_ACTIONS).
 */
export class TransactionCache {
  private readonly entries = new Map<string, { at: number; response?: Response }>();
  constructor(
    private readonly now: () => number,
    private readonly ttlMs = 10 * 60_000,
    private readonly max = 50_000,
  ) {}

  /** "new" when the caller should execute; otherwise the cached response (or "pending"). */
  claim(deviceId: string, action: string, transaction: string | number): "new" | "pending" | Response {
    this.expire();
    const k = key(deviceId, action, transaction);
    const e = this.entries.get(k);
    if (e) return e.response ?? "pending";
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(k, { at: this.now() });
    return "new";
  }

  complete(deviceId: string, action: string, transaction: string | number, response: Response): void {
    const e = this.entries.get(key(deviceId, action, transaction));
    if (e) e.response = response;
  }

  /** Drops a claim, so the transaction id can be used again (a request that was never authorised). */
  forget(deviceId: string, action: string, transaction: string | number): void {
    this.entries.delete(key(deviceId, action, transaction));
  }

  get size(): number {
    return this.entries.size;
  }

  private expire(): void {
    const limit = this.now() - this.ttlMs;
    for (const [k, e] of this.entries) {
      if (e.at > limit) break;
      this.entries.delete(k);
    }
  }
}

function key(deviceId: string, action: string, transaction: string | number): string {
  return `${deviceId}\n${action}\n${typeof transaction}:${transaction}`;
}
