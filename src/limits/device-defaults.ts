// The design defaults of a device's advertised axes (the same figures the simulator uses by default).
// Only for planning and checking when no device is connected (e.g. `invert programs plan`); a session
// always uses the axes the connected device advertises in `caps`.
import type { CapsMsg } from "../../protocol/index.js";

export const DEFAULT_DEVICE_AXES: CapsMsg["axes"] = Object.freeze({
  tilt: Object.freeze({ min: -80, max: 90, upright: -80, speedMax: 10, returnSpeed: 4, accelMax: 10, approachSpeed: 1 }),
  traction: Object.freeze({ max: 700, rateMax: 50, returnRate: 20 }),
});

/** Firmware cap on time head-down before it brings the user back on its own (design default). */
export const DEFAULT_MAX_INVERTED_S = 900;

/** The parts of a default device's `caps` that planning checks use. */
export const DEFAULT_DEVICE_CAPS = Object.freeze({ axes: DEFAULT_DEVICE_AXES, maxInvertedS: DEFAULT_MAX_INVERTED_S });
