// The telemetry fast path must never accept what the zod schema rejects, and must hand back exactly
// what zod would; the decoder as a whole must agree with zod on acceptance for any input.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Telemetry, validate } from "../../protocol/index.js";
import { isPlainValidTelemetry } from "../../protocol/fast-tlm.js";
import { ARBS } from "./arbitraries.js";

const weird = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, "", "ok", "WATCHDOG", "lower", [], {}, NaN, Infinity, -Infinity, -0, 0.5, -1, 2 ** 32, 2 ** 53, 1e300, -1e-300, 361, -361, 1001, 101, 10_001),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 40 }),
  fc.array(fc.oneof(fc.string({ maxLength: 34 }), fc.integer(), fc.constant("WATCHDOG")), { maxLength: 40 }),
);
const FIELDS = ["v", "seq", "type", "t", "tilt", "tilt2", "vel", "force", "current", "lock", "sw", "mode", "faults", "rxErr", "ret", "extra", "__proto__x"];

/** Valid telemetry with a few fields replaced by odd values, deleted, or added. */
const mutated = fc
  .tuple(
    ARBS.tlm,
    fc.array(fc.tuple(fc.constantFrom(...FIELDS), fc.oneof(weird, fc.constant(undefined)), fc.boolean()), { maxLength: 3 }),
  )
  .map(([msg, edits]) => {
    const o: Record<string, unknown> = { ...msg };
    for (const [k, v, del] of edits) {
      if (del) delete o[k];
      else o[k] = v;
    }
    return o;
  });

describe("telemetry fast path", () => {
  it("accepts every valid telemetry message (so the fast path is really taken)", () => {
    fc.assert(
      fc.property(ARBS.tlm, (m) => {
        expect(isPlainValidTelemetry(m as unknown as Record<string, unknown>)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("whatever it accepts, zod accepts with an identical result", () => {
    fc.assert(
      fc.property(mutated, (o) => {
        // Its precondition, checked by the decoder before it is called.
        if (o.v !== 1 || o.type !== "tlm" || !isPlainValidTelemetry(o)) return;
        const z = Telemetry.safeParse(o);
        expect(z.success).toBe(true);
        expect(z.data).toStrictEqual(o);
      }),
      { numRuns: 3000 },
    );
  });

  it("validate() agrees with zod on acceptance and result for arbitrary telemetry-like objects", () => {
    fc.assert(
      fc.property(mutated, (o) => {
        const ours = validate(o);
        const z = o.v === 1 && o.type === "tlm" ? Telemetry.safeParse(o) : { success: false as const, data: undefined };
        expect(ours.ok).toBe(z.success);
        if (ours.ok) expect(ours.msg).toEqual(z.data);
      }),
      { numRuns: 3000 },
    );
  });
});
