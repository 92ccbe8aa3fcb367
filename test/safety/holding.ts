// A device holding 20 deg head-down at 10 Hz, as the supervisor sees it: for tests that feed it
// explicit timestamps.
import type { TelemetryMsg } from "../../protocol/index.js";
import type { Observed } from "../../src/safety/supervisor.js";

export const PERIOD = 100;

export function sample(t: number, over: Partial<TelemetryMsg> = {}): TelemetryMsg {
  return { v: 1, seq: 0, type: "tlm", t, tilt: 20, tilt2: 20, vel: 0, force: 0, current: 1, lock: true, sw: "ok", mode: "holding", faults: [], rxErr: 0, ...over };
}

export function observe(tlm: TelemetryMsg, tlmAt: number): Observed {
  return {
    expect: { phase: "holding", tiltTarget: 20 },
    limits: { tiltMin: -80, tiltMax: 45, speedMax: 10, forceMax: 300 },
    upright: -80,
    tlm,
    tlmAt,
    tlmPeriodMs: PERIOD,
    link: "up",
    discomfort: false,
  };
}
