// Safety reaction time, in virtual time: from a fault to the actuator decelerating, with the ground truth
// of the simulator's physics steps. The table cruises head-down at 8 deg/s when the fault strikes.
// Targets: one telemetry period for what the firmware sees itself (stop switch) and for the companion's
// reaction to a user input (discomfort: the stop crosses the link at once); plus the watchdog for a lost
// link; plus the documented cross-check confirmation time (200 ms) for a sensor mismatch.
import { pathToFileURL } from "node:url";
import { parseProgram } from "../src/programs/schema.js";
import { fullStack } from "./virtual-time.js";

export type ReactionFault = "stopSwitch" | "lostLink" | "sensorMismatch" | "discomfort";

export interface ReactionFigure {
  /** Simulated ms from the fault to the first physics step that decelerates. */
  ms: number;
  targetMs: number;
  /** What the target is made of. */
  basis: string;
  pass: boolean;
}

export type ReactionResult = Record<ReactionFault, ReactionFigure> & { pass: boolean };

const RAMP = parseProgram({ name: "bench-reaction", steps: [{ type: "ramp", to: 60, speed: 8 }, { type: "hold", seconds: 5 }] });

export function measureReaction(fault: ReactionFault): ReactionFigure {
  const fs = fullStack(RAMP, { simConfig: { tilt: { restS: 1, pauseS: 1 } }, session: { ret: { restS: 1, pauseS: 1 } } });
  const cfg = fs.device.config;
  const tlmMs = 1000 / cfg.tlmHz;
  // Cruising at full program speed, well past horizontal.
  const cruising = fs.clock.runUntil(() => {
    const t = fs.device.truth();
    return t.tilt > 20 && Math.abs(t.vel - 8) < 1e-6;
  }, 120_000);
  if (!cruising) throw new Error(`reaction ${fault}: the table never reached cruise speed`);
  // Strike between two telemetry samples, mid-period, not on a lucky boundary.
  fs.clock.advance(tlmMs / 2 + 3);
  let decelAt: number | undefined;
  const off = fs.device.onStep((s) => {
    if (decelAt === undefined && s.vel < 8 - 1e-6) decelAt = s.t;
  });
  const at = fs.clock.now();
  let targetMs = tlmMs;
  let basis = `one telemetry period (${tlmMs} ms)`;
  switch (fault) {
    case "stopSwitch":
      fs.device.inject.pressStopSwitch({ durationMs: 500 });
      break;
    case "lostLink":
      fs.simLink.dropFor(10_000);
      targetMs = cfg.watchdogMs + tlmMs;
      basis = `watchdog (${cfg.watchdogMs} ms) + one telemetry period`;
      break;
    case "sensorMismatch":
      fs.device.inject.sensorBias("inclinometer", 10, { durationMs: 5000 });
      targetMs = cfg.sensors.mismatchMs + tlmMs;
      basis = `cross-check confirmation (${cfg.sensors.mismatchMs} ms) + one telemetry period`;
      break;
    case "discomfort":
      fs.session.discomfort("dizziness");
      break;
  }
  fs.clock.runUntil(() => decelAt !== undefined, 30_000);
  off();
  fs.session.abandon("bench over");
  fs.device.stop();
  if (decelAt === undefined) throw new Error(`reaction ${fault}: the actuator never decelerated`);
  const ms = decelAt - at;
  return { ms, targetMs, basis, pass: ms <= targetMs };
}

export function runReactionBench(): ReactionResult {
  const faults: ReactionFault[] = ["stopSwitch", "lostLink", "sensorMismatch", "discomfort"];
  const out = Object.fromEntries(faults.map((f) => [f, measureReaction(f)])) as Record<ReactionFault, ReactionFigure>;
  return { ...out, pass: faults.every((f) => out[f].pass) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(runReactionBench(), null, 2));
}
