// Section 2.3 tells a firmware engineer which messages fit the 512-byte line as they are and what budget
// `caps` needs. Those numbers are checked here at their worst case: the largest seq, the longest texts
// and the longest numbers of the kind the section allows.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FAULTS, MAX_LINE_BYTES, SEQ_MODULO, encodeFrame, validate, type AnyMsg, type CapsMsg } from "../../protocol/index.js";

const SEQ = SEQ_MODULO - 1;
const bytes = (m: AnyMsg): number => Buffer.byteLength(encodeFrame(m));
/** Printable ASCII without `"` and `\`, the text section 2.3 budgets for. */
const plain = (n: number): string => "~".repeat(n);
const plainArb = (max: number) =>
  fc.string({ maxLength: max, unit: fc.integer({ min: 0x20, max: 0x7e }).filter((c) => c !== 0x22 && c !== 0x5c).map((c) => String.fromCharCode(c)) });

/** A caps at the largest seq whose numbers take their longest form with at most 3 decimals. */
function caps(model: string, serial: string, fw: string, boot: string): CapsMsg {
  const deg = -179.999;
  return {
    v: 1,
    seq: SEQ,
    type: "caps",
    model,
    serial,
    fw,
    proto: 255,
    axes: {
      tilt: { min: deg, max: deg, upright: deg, speedMax: 89.999, returnSpeed: 89.999, accelMax: 999.999, approachSpeed: 89.999 },
      traction: { max: 4999.999, rateMax: 999.999, returnRate: 999.999 },
    },
    watchdogMs: 60_000,
    tlmHz: 999.999,
    boot,
    maxInvertedS: 99_999.999,
    userMaxKg: 999.999,
    userMaxCm: 999.999,
  };
}

describe("section 2.3 line budget", () => {
  it("an ack or evt with a 200-character text is under 330 bytes", () => {
    const ack: AnyMsg = { v: 1, seq: SEQ, type: "ack", id: plain(40), result: "unsupported", reason: plain(200) };
    const evt: AnyMsg = { v: 1, seq: SEQ, type: "evt", code: "A".repeat(32), severity: "critical", msg: plain(200) };
    for (const m of [ack, evt]) {
      expect(validate(m).ok).toBe(true);
      expect(bytes(m)).toBeLessThan(330);
    }
  });

  it("a tlm listing every latched code is under 450 bytes", () => {
    const latched = Object.entries(FAULTS).filter(([, f]) => f.latched).map(([c]) => c);
    const tlm: AnyMsg = {
      v: 1, seq: SEQ, type: "tlm", t: Number.MAX_SAFE_INTEGER, tilt: -359.999, tilt2: -359.999, vel: -999.999, force: -99.999, current: -99.999,
      lock: false, sw: "disconnected", mode: "returning", faults: latched, rxErr: SEQ, ret: "approach",
    };
    expect(validate(tlm).ok).toBe(true);
    expect(bytes(tlm)).toBeLessThan(450);
  });

  it("caps fits with 100 characters for model, serial, fw and boot together, and the longest numbers", () => {
    expect(validate(caps(plain(36), plain(32), plain(32), "")).ok).toBe(true);
    fc.assert(
      fc.property(plainArb(64), plainArb(64), plainArb(32), plainArb(32), (model, serial, fw, boot) => {
        fc.pre(model.length + serial.length + fw.length + boot.length <= 100);
        expect(bytes(caps(model, serial, fw, boot))).toBeLessThanOrEqual(MAX_LINE_BYTES);
      }),
      { numRuns: 200 },
    );
    expect(bytes(caps(plain(36), plain(32), plain(32), ""))).toBeLessThanOrEqual(MAX_LINE_BYTES);
  });

  it("the caps budget is the real one: a few characters more can overflow the line", () => {
    const over = caps(plain(40), plain(32), plain(32), plain(8));
    expect(validate(over).ok).toBe(true);
    expect(bytes(over)).toBeGreaterThan(MAX_LINE_BYTES);
  });
});
