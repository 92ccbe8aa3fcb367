import { describe, expect, it } from "vitest";
import { returnRemainingS } from "../../src/session/estimate.js";

const R = { upright: -80, returnSpeed: 4, approachSpeed: 1, approachZone: 10, restS: 60, pauseS: 10, pauseTilt: -15, returnRate: 20 };

describe("returnRemainingS", () => {
  it("adds every phase of a return from head-down", () => {
    // release 100 N at 20 N/s, 40 deg down at 4, rest 60, 15 deg at 4, pause 10, 55 deg at 4, 10 deg at 1
    expect(returnRemainingS({ tilt: 40, force: 100, wasHeadDown: true }, R)).toBeCloseTo(5 + 10 + 60 + 3.75 + 10 + 13.75 + 10, 6);
  });

  it("skips the rest and the pause when the user was never head-down", () => {
    expect(returnRemainingS({ tilt: -40, force: 0, wasHeadDown: false }, R)).toBeCloseTo(30 / 4 + 10, 6);
  });

  it("counts down inside a timed phase and never goes negative", () => {
    expect(returnRemainingS({ tilt: 0, force: 0, wasHeadDown: true, phase: "rest", inPhaseS: 45 }, R)).toBeCloseTo(15 + 3.75 + 10 + 13.75 + 10, 6);
    expect(returnRemainingS({ tilt: -80, force: 0, wasHeadDown: true, phase: "approach", inPhaseS: 99 }, R)).toBe(0);
  });

  it("gives a finite figure with no traction to release where the limits allow no traction (rate 0)", () => {
    // A table without a traction axis has an effective rateMax of 0; 0 N at 0 N/s must not read as NaN.
    expect(returnRemainingS({ tilt: -40, force: 0, wasHeadDown: false }, { ...R, returnRate: 0 })).toBeCloseTo(30 / 4 + 10, 6);
  });
});
