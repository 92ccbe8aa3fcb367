// A session against the embedded simulator on one VirtualClock, with invariant checkers on every physics
// step (ground truth) and every telemetry sample. Everything runs synchronously in virtual time.
import { VirtualClock, type TelemetryMsg } from "../../protocol/index.js";
import { createEmbeddedSim, type SimDevice, type SimTruth } from "../../device-sim/index.js";
import { DeviceLink } from "../../src/link/device-link.js";
import { startSession, type SessionHandle, type SessionOptions, type SessionSnapshot, type SessionSummary } from "../../src/session/run-session.js";
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
  /** Runs virtual time until the session is over (or maxMs passes); returns its summary, if any. */
  finish(maxMs?: number): SessionSummary | undefined;
  /** Runs until the machine state string matches (or maxMs passes); true when it did. */
  runUntilState(re: RegExp, maxMs?: number): boolean;
  snapshot(): SessionSnapshot;
}

export function startHarness(program: Program, opts: { simConfig?: unknown; session?: Partial<SessionOptions>; seed?: number } = {}): Harness {
  const clock = new VirtualClock();
  const sim = createEmbeddedSim({ clock, config: opts.simConfig, seed: opts.seed ?? 1 });
  const link = new DeviceLink(sim.companion, clock, { idPrefix: "s" });
  const truths: SimTruth[] = [];
  // Every 10th physics step (100 ms) is enough to see any excursion lasting longer than a sample.
  let n = 0;
  sim.device.onStep((t) => {
    if (n++ % 5 === 0) truths.push({ ...t, faults: [...t.faults] });
  });
  const session = startSession({ link, clock, program, ...opts.session });
  const samples: TelemetryMsg[] = [];
  session.onSample((t) => samples.push(t));
  const states: string[] = [];
  session.onUpdate((s) => {
    if (states[states.length - 1] !== s.state) states.push(s.state);
  });
  let summary: SessionSummary | undefined;
  void session.done.then((s) => (summary = s));
  // `done` settles in a microtask; the machine's final state is visible synchronously.
  const over = (): boolean => {
    const p = session.snapshot().phase;
    return p === "completed" || p === "aborted" || p === "fault" || p === "refused";
  };
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
      clock.runUntil(over, maxMs);
      return summary;
    },
    runUntilState(re, maxMs = 600_000) {
      return clock.runUntil(() => re.test(session.snapshot().state), maxMs);
    },
    snapshot: () => session.snapshot(),
  };
}

/** Lets `done` (a promise) settle after the machine has finished. */
export async function settled(h: Harness): Promise<SessionSummary> {
  return h.session.done;
}
