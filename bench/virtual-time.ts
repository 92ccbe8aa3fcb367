// Virtual-time speed: simulated seconds per wall second for a 10-minute oscillation session with the
// full stack in-process on one VirtualClock: session machine and supervisor, device link, codec and CRC
// framing over the in-process byte pipe, firmware and physics (10 ms steps). Target: >= 1000x.
import { pathToFileURL } from "node:url";
import { VirtualClock } from "../protocol/index.js";
import { createEmbeddedSim, type SimDevice } from "../device-sim/index.js";
import { DeviceLink } from "../src/link/device-link.js";
import { startSession, type SessionHandle, type SessionOptions } from "../src/session/run-session.js";
import { parseProgram, type Program } from "../src/programs/schema.js";
import { planProgram } from "../src/programs/plan.js";

export const VIRTUAL_TIME_TARGET = 1000;

export interface FullStack {
  clock: VirtualClock;
  device: SimDevice;
  link: DeviceLink;
  session: SessionHandle;
  simLink: ReturnType<typeof createEmbeddedSim>["link"];
  /** True once the session's END event has been emitted. */
  ended(): boolean;
}

export function fullStack(program: Program, opts: { simConfig?: unknown; session?: Partial<SessionOptions>; seed?: number } = {}): FullStack {
  const clock = new VirtualClock();
  const sim = createEmbeddedSim({ clock, config: opts.simConfig, seed: opts.seed ?? 1 });
  const link = new DeviceLink(sim.companion, clock, { idPrefix: "b" });
  const session = startSession({ link, clock, program, ...opts.session });
  let over = false;
  session.onEvent((e) => {
    if (e.code === "END") over = true;
  });
  return { clock, device: sim.device, link, session, simLink: sim.link, ended: () => over };
}

/** Rocking between horizontal and 60 degrees, cycles chosen so that the program lasts at least `seconds`. */
export function oscillation(seconds: number): Program {
  const make = (cycles: number) =>
    parseProgram({
      name: "bench-oscillation",
      steps: [
        { type: "ramp", to: 0, speed: 5 },
        { type: "pump", from: 0, to: 60, cycles, dwellHigh: 10, dwellLow: 5, speed: 8 },
      ],
    });
  let cycles = 1;
  while (cycles < 100 && planProgram(make(cycles), { startTilt: -80, accel: 10 }).totalS < seconds) cycles++;
  return make(cycles);
}

export interface VirtualTimeResult {
  simulatedS: number;
  wallS: number;
  speedup: number;
  physicsSteps: number;
  target: { minSpeedup: number };
  pass: boolean;
}

function once(seconds: number): { simulatedS: number; wallS: number; steps: number } {
  // The 900 s head-down cap would end a long oscillation early; the bench is about speed, not the cap.
  const fs = fullStack(oscillation(seconds), { simConfig: { maxInvertedS: 7200 } });
  let steps = 0;
  fs.device.onStep(() => steps++);
  const t0 = performance.now();
  fs.clock.runUntil(() => fs.clock.now() >= seconds * 1000 || fs.ended(), seconds * 1000);
  const wallS = (performance.now() - t0) / 1000;
  const simulatedS = fs.clock.now() / 1000;
  fs.session.abandon("bench over");
  fs.device.stop();
  return { simulatedS, wallS, steps };
}

export function runVirtualTimeBench(opts: { seconds?: number } = {}): VirtualTimeResult {
  const seconds = opts.seconds ?? 600;
  // Warm-up (JIT, module loading) is not part of the figure.
  once(60);
  const { simulatedS, wallS, steps } = once(seconds);
  const speedup = Math.round(simulatedS / wallS);
  return { simulatedS, wallS: Math.round(wallS * 1000) / 1000, speedup, physicsSteps: steps, target: { minSpeedup: VIRTUAL_TIME_TARGET }, pass: speedup >= VIRTUAL_TIME_TARGET };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(runVirtualTimeBench(), null, 2));
}
