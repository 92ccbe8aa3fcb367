// fast-check arbitraries for every wire message, built from the ranges in protocol/messages.ts. They
// produce values that survive a JSON round trip exactly (no -0, no NaN), including edge values.
import fc from "fast-check";
import type { AnyMsg, MsgType } from "../../protocol/index.js";

/** Finite doubles in [min, max]; -0 becomes 0 because JSON cannot carry it. */
export function num(min: number, max: number, opts: { minExcluded?: boolean } = {}): fc.Arbitrary<number> {
  return fc
    .oneof(
      fc.double({ min, max, noNaN: true, noDefaultInfinity: true, minExcluded: opts.minExcluded ?? false }),
      // Short decimals, as real devices send them.
      fc.integer({ min: Math.ceil(min * 100), max: Math.floor(max * 100) }).map((i) => i / 100),
    )
    .filter((x) => !(opts.minExcluded && x <= min))
    .map((x) => (Object.is(x, -0) ? 0 : x));
}

const pos = (max: number) => num(0, max, { minExcluded: true });
const deg = num(-180, 180);
const newtons = num(0, 5000);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const text = (maxLength: number) => fc.string({ maxLength, unit: "grapheme" }).filter((s) => s.length <= maxLength);
const id = fc.string({ minLength: 1, maxLength: 40, unit: "grapheme-ascii" }).filter((s) => s.length >= 1 && s.length <= 40);
export const faultCode = fc.stringMatching(/^[A-Z][A-Z0-9_]{1,31}$/);
const header = { v: fc.constant(1 as const), seq: u32 };

function opt<T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(a, { nil: undefined });
}

/** Removes keys whose value is undefined, as the decoder never produces them. */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export const ARBS: { [K in MsgType]: fc.Arbitrary<Extract<AnyMsg, { type: K }>> } = {
  hello: fc.record({ ...header, type: fc.constant("hello"), client: text(64), proto: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  hb: fc.record({ ...header, type: fc.constant("hb") }),
  move: fc.record({ ...header, type: fc.constant("move"), id, axis: fc.constant("tilt"), target: deg, speed: pos(90) }),
  force: fc.record({ ...header, type: fc.constant("force"), id, axis: fc.constant("traction"), target: newtons, rate: pos(1000) }),
  stop: fc.record({ ...header, type: fc.constant("stop"), id }),
  return: fc.record({ ...header, type: fc.constant("return"), id }),
  limits: fc
    .record({
      ...header,
      type: fc.constant("limits"),
      id,
      tiltMin: opt(deg),
      tiltMax: opt(deg),
      speedMax: opt(pos(90)),
      forceMax: opt(newtons),
      rateMax: opt(pos(1000)),
    })
    .map(clean),
  clear: fc.record({ ...header, type: fc.constant("clear"), id, code: faultCode }),
  caps: fc
    .record({
      ...header,
      type: fc.constant("caps"),
      model: text(64),
      serial: text(64),
      fw: text(32),
      proto: fc.integer({ min: 1, max: 255 }),
      axes: fc
        .record({
          tilt: opt(
            fc
              .record({ min: deg, max: deg, upright: deg, speedMax: pos(90), returnSpeed: pos(90), accelMax: opt(pos(1000)), approachSpeed: opt(pos(90)) })
              .map(clean),
          ),
          traction: opt(fc.record({ max: newtons, rateMax: pos(1000), returnRate: opt(pos(1000)) }).map(clean)),
        })
        .map(clean),
      watchdogMs: fc.integer({ min: 50, max: 60_000 }),
      tlmHz: num(1, 1000),
      boot: opt(text(32)),
      maxInvertedS: opt(pos(1e6)),
      userMaxKg: opt(pos(1000)),
      userMaxCm: opt(pos(1000)),
    })
    .map(clean),
  ack: fc
    .record({
      ...header,
      type: fc.constant("ack"),
      id,
      result: fc.constantFrom("accepted", "done", "rejected", "busy", "unsupported", "failed"),
      reason: opt(text(200)),
    })
    .map(clean),
  tlm: fc
    .record({
      ...header,
      type: fc.constant("tlm"),
      t: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.maxSafeNat()),
      tilt: num(-360, 360),
      tilt2: num(-360, 360),
      vel: num(-1000, 1000),
      force: opt(num(-100, 10_000)),
      current: num(-100, 100),
      lock: fc.boolean(),
      sw: fc.constantFrom("ok", "pressed", "disconnected"),
      mode: fc.constantFrom("idle", "moving", "holding", "stopping", "returning", "fault"),
      faults: fc.array(faultCode, { maxLength: 32 }),
      rxErr: u32,
      ret: opt(fc.constantFrom("descend", "rest", "pause", "rise", "approach", "release")),
    })
    .map(clean),
  evt: fc.record({
    ...header,
    type: fc.constant("evt"),
    code: faultCode,
    severity: fc.constantFrom("info", "warn", "fault", "critical"),
    msg: text(200),
  }),
  // Each record is built from the field ranges above; fc.record infers wider literal types than the
  // message types, so the map is asserted once here instead of per entry.
} as never;

export const anyMessage: fc.Arbitrary<AnyMsg> = fc.oneof(...(Object.values(ARBS) as fc.Arbitrary<AnyMsg>[]));

