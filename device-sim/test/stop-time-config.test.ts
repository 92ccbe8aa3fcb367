// The stop switch and critical faults must bring the table to standstill within 0.5 s (PROTOCOL.md 9.2,
// 9.3). Whether the firmware can is fixed by the config: speedMax, emergencyDecel and the control step.
import { describe, expect, it } from "vitest";
import { parseSimConfig, SimConfigError } from "../index.js";
import { connect, rig } from "./harness.js";
import { FAST_CONFIG } from "./real-io.js";

function refusal(input: unknown): SimConfigError {
  try {
    parseSimConfig(input);
  } catch (e) {
    if (e instanceof SimConfigError) return e;
    throw e;
  }
  throw new Error("expected parseSimConfig to refuse the config");
}

describe("config: the emergency deceleration must stop speedMax within 0.5 s", () => {
  it("refuses a speedMax the emergency deceleration cannot stop in time, naming the field and why", () => {
    // 30 deg/s² stops 10 deg/s in a third of a second, but 20 deg/s takes two thirds.
    const e = refusal({ tilt: { speedMax: 20 } });
    expect(e.field).toBe("tilt.emergencyDecel");
    expect(e.message).toBe(
      "tilt.emergencyDecel: must be >= 40.82 deg/s² so a stop from speedMax 20 deg/s takes at most 0.5 s (up to one 10 ms step to react, then braking)",
    );
  });

  it("counts the step the firmware may need to see the cause", () => {
    // 2 x speedMax would do in continuous time; a firmware that reacts a step late would not.
    expect(refusal({ tilt: { speedMax: 15, emergencyDecel: 30 } }).field).toBe("tilt.emergencyDecel");
    expect(refusal({ tilt: { emergencyDecel: 24 }, stepMs: 100 }).message).toMatch(/^tilt\.emergencyDecel: must be >= 25 deg\/s² .* one 100 ms step/);
    expect(parseSimConfig({ tilt: { emergencyDecel: 25 }, stepMs: 100 }).tilt.emergencyDecel).toBe(25);
  });

  it("accepts the defaults at every control step, and the test configs", () => {
    for (const stepMs of [1, 10, 50, 100]) expect(parseSimConfig({ stepMs }).tilt.emergencyDecel).toBe(30);
    expect(parseSimConfig(FAST_CONFIG).tilt.speedMax).toBe(30);
    expect(parseSimConfig({ model: "combo", tilt: { speedMax: 8 } }).tilt.speedMax).toBe(8);
  });

  it("a config right at the bound really stops within 0.5 s, whenever in a step the switch is pressed", () => {
    const speedMax = 20;
    const stepMs = 10;
    const emergencyDecel = Math.ceil((speedMax / (0.5 - stepMs / 1000)) * 100) / 100;
    for (let offset = 1; offset <= stepMs; offset += 3) {
      const r = rig({ tilt: { speedMax, emergencyDecel }, stepMs });
      connect(r);
      r.client.move(80, speedMax);
      r.clock.advance(4000);
      expect(Math.abs(r.truth().vel)).toBeCloseTo(speedMax, 6);
      const tPress = r.clock.now() + offset;
      r.device.inject.pressStopSwitch({ at: tPress });
      r.until(() => r.truth().sw === "pressed" && r.truth().vel <= 0, 2000, "stopped");
      expect(r.clock.now() - tPress).toBeLessThanOrEqual(500);
      expect(r.inv.violations).toEqual([]);
    }
  });
});
