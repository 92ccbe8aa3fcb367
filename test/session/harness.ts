// A session against the embedded simulator on one VirtualClock, with invariant checkers on every physics
// step (ground truth) and every telemetry sample. Everything runs synchronously in virtual time.
import { VirtualClock, type Clock, type TelemetryMsg } from "../../protocol/index.js";
import { createEmbeddedSim, type SimDevice, type SimTruth } from "../../device-sim/index.js";
import { DeviceLink } from "../../src/link/device-link.js";
import { startSession, type SessionHandle, type SessionOptions, type SessionSnapshot } from "../../src/session/run-session.js";
import type { Program } from "../../src/programs/schema.js";

export interface Harness {
  clock: VirtualClock;
  device: SimDevice;
  link: DeviceLink;
  session: SessionHandle;
  simLink: ReturnType<typeof createEmbeddedSim>["link"];
  truths: SimTruth[];
  samples: TelemetryMsg[];
  states: string[];
  /** Runs virtual time until the session is over (or maxMs passes); true when it is over. */
  finish(maxMs?: number): boolean;
  /** Runs until the machine state string matches (or maxMs passes); true when it did. */
  runUntilState(re: RegExp, maxMs?: number): boolean;
  snapshot(): SessionSnapshot;
}

export function startHarness(
  program: Program,
  opts: { simConfig?: unknown; session?: Partial<SessionOptions>; seed?: number; sessionClock?: (clock: VirtualClock) => Clock } = {},
): Harness {
  const clock = new VirtualClock();
  const sim = createEmbeddedSim({ clock, config: opts.simConfig, seed: opts.seed ?? 1 });
  const link = new DeviceLink(sim.companion, clock, { idPrefix: "s" });
  const truths: SimTruth[] = [];
  // Every 10th physics step (100 ms) is enough to see any excursion lasting longer than a sample.
  let n = 0;
  sim.device.onStep((t) => {
    if (n++ % 5 === 0) truths.push({ ...t, faults: [...t.faults] });
  });
  // The session may see the shared clock through a wrapper (timers that fire late, as on a busy host).
  const session = startSession({ link, clock: opts.sessionClock?.(clock) ?? clock, program, ...opts.session });
  const samples: TelemetryMsg[] = [];
  session.onSample((t) => samples.push(t));
  const states: string[] = [];
  session.onUpdate((s) => {
    if (states[states.length - 1] !== s.state) states.push(s.state);
  });
  // `done` settles in a microtask; the END event is emitted synchronously when the machine finishes.
  let ended = false;
  session.onEvent((e) => {
    if (e.code === "END") ended = true;
  });
  const over = (): boolean => ended;
  return {
    clock,
    device: sim.device,
    link,
    session,
    simLink: sim.link,
    truths,
    samples,
    states,
    finish(maxMs = 3_600_000) {
      return clock.runUntil(over, maxMs);
    },
    runUntilState(re, maxMs = 600_000) {
      return clock.runUntil(() => re.test(states[states.length - 1] ?? ""), maxMs);
    },
    snapshot: () => session.snapshot(),
  };
}

