// A hand-written check for the hottest message (telemetry at 10 Hz per device, hundreds of devices on
// one hub). It accepts only the plain, fully valid shape; anything unusual (unknown keys, edge types)
// returns false and the caller falls back to the zod schema, which stays the single authority. A
// property test proves that whatever this accepts, zod accepts too, with an identical result.

const KEYS = new Set(["v", "seq", "type", "t", "tilt", "tilt2", "vel", "force", "current", "lock", "sw", "mode", "faults", "rxErr", "ret"]);
const SW = new Set(["ok", "pressed", "disconnected"]);
const MODE = new Set(["idle", "moving", "holding", "stopping", "returning", "fault"]);
const RET = new Set(["descend", "rest", "pause", "rise", "approach", "release"]);
const CODE = /^[A-Z][A-Z0-9_]{1,31}$/;

function inRange(x: unknown, min: number, max: number): boolean {
  return typeof x === "number" && x >= min && x <= max;
}

function isU32(x: unknown): boolean {
  return typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
}

/** True when `o` (already known to have v === 1 and type === "tlm") is a valid telemetry message as is. */
export function isPlainValidTelemetry(o: Record<string, unknown>): boolean {
  for (const k in o) if (!KEYS.has(k)) return false;
  if (!isU32(o.seq)) return false;
  if (!(typeof o.t === "number" && Number.isSafeInteger(o.t) && o.t >= 0)) return false;
  if (!inRange(o.tilt, -360, 360) || !inRange(o.tilt2, -360, 360)) return false;
  if (!inRange(o.vel, -1000, 1000) || !inRange(o.current, -100, 100)) return false;
  if (o.force !== undefined && !inRange(o.force, -100, 10_000)) return false;
  if (typeof o.lock !== "boolean") return false;
  if (typeof o.sw !== "string" || !SW.has(o.sw)) return false;
  if (typeof o.mode !== "string" || !MODE.has(o.mode)) return false;
  const f = o.faults;
  if (!Array.isArray(f) || f.length > 32) return false;
  for (let i = 0; i < f.length; i++) {
    const c: unknown = f[i];
    if (typeof c !== "string" || !CODE.test(c)) return false;
  }
  if (!isU32(o.rxErr)) return false;
  if (o.ret !== undefined && (typeof o.ret !== "string" || !RET.has(o.ret))) return false;
  return true;
}
