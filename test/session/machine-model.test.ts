// Model-based testing: the machine's shortest paths (xstate/graph) to each state where the user is on the
// table (running sub-states, paused) are replayed against a real session on the simulator (device-side
// events by running virtual time until the real session gets there, user events through the
// SessionHandle, the real state checked after every step); at the end of each path a stop must bring
// the table upright. (xstate's createTestModel refuses machines with invoked actors, so the replay is
// done here on getShortestPaths' paths, which is what TestModel does.)
import { describe, expect, it } from "vitest";
import type { SnapshotFrom } from "xstate";
import { getShortestPaths } from "xstate/graph";
import type { CapsMsg, TelemetryMsg } from "../../protocol/index.js";
import { compileProgram } from "../../src/programs/compile.js";
import type { SessionLink } from "../../src/session/actors.js";
import { sessionMachine, type SessionMachineEvent } from "../../src/session/machine.js";
import { startHarness, type Harness } from "./harness.js";
import { COVER_PROGRAM } from "./interrupt-matrix.js";

type Snap = SnapshotFrom<typeof sessionMachine>;

const link: SessionLink = { sendCommand: () => "x", sendOnce: () => "x", startHandshake: () => {}, onTelemetry: () => () => {} };
const clock = { now: () => 0, setTimeout: () => ({ id: 0 }), clearTimeout: () => {}, setInterval: () => ({ id: 0 }), clearInterval: () => {} };
const caps: CapsMsg = {
  v: 1, seq: 0, type: "caps", model: "m", serial: "s", fw: "1", proto: 1, watchdogMs: 1000, tlmHz: 10,
  axes: { tilt: { min: -80, max: 90, upright: -80, speedMax: 10, returnSpeed: 4 }, traction: { max: 700, rateMax: 50 } },
};
const upright: TelemetryMsg = {
  v: 1, seq: 0, type: "tlm", t: 0, tilt: -80, tilt2: -80, vel: 0, force: 0, current: 0, lock: true, sw: "ok", mode: "idle", faults: [], rxErr: 0,
};

const EVENTS: SessionMachineEvent[] = [
  { type: "CONNECT" },
  { type: "HANDSHAKE_OK", caps },
  { type: "TLM", tlm: upright },
  { type: "STEP_DONE" },
  { type: "PAUSE" },
  { type: "RESUME" },
  { type: "xstate.after.dwell.session.running.hold" } as unknown as SessionMachineEvent,
];

const valueString = (v: Snap["value"]): string =>
  typeof v === "string" ? v : Object.entries(v).map(([k, sub]) => `${k}.${valueString(sub as Snap["value"])}`).join(",");

const ON_TABLE = /^(running\.(ramp|pump|traction|hold)|paused)$/;

describe("session machine as a test model, replayed on the simulator", () => {
  const paths = getShortestPaths(sessionMachine, {
    input: { link, clock, program: COVER_PROGRAM, actions: compileProgram(COVER_PROGRAM), autoStart: true },
    events: EVENTS,
    serializeState: (s) => JSON.stringify([s.value, s.context.index, s.context.pausedBy]),
  }).filter((p) => ON_TABLE.test(valueString(p.state.value)));
  // One path per target state: the shortest.
  const byTarget = new Map<string, (typeof paths)[number]>();
  for (const p of paths) {
    const k = valueString(p.state.value);
    const have = byTarget.get(k);
    if (!have || p.steps.length < have.steps.length) byTarget.set(k, p);
  }
  const targets = new Set(byTarget.keys());

  it("has paths to every state where the user is on the table", () => {
    expect([...targets].sort()).toEqual(["paused", "running.hold", "running.pump", "running.ramp", "running.traction"]);
  });

  for (const path of byTarget.values()) {
    const target = valueString(path.state.value);
    const via = path.steps.map((st) => (st.event as { type: string }).type).filter((t) => t !== "xstate.init").join(" ");
    it(`${target} via ${via}: reached for real; a stop there ends upright`, async () => {
      const h: Harness = startHarness(COVER_PROGRAM, { simConfig: { model: "combo", tilt: { restS: 5, pauseS: 2 } }, session: { ret: { restS: 5, pauseS: 2 } } });
      // Device-side events happen by themselves: run virtual time until the real session has visited the
      // state the model says comes next (some last less than one timer tick, so the visit log is used).
      let cursor = 0;
      const follow = (want: string): void => {
        const seen = (): boolean => h.states.indexOf(want, cursor) >= 0;
        if (!h.clock.runUntil(seen, 400_000)) throw new Error(`real session did not reach ${want}: ${h.states.slice(-6).join(" > ")}`);
        cursor = h.states.indexOf(want, cursor) + 1;
      };
      let prev = "";
      for (const step of path.steps) {
        const type = (step.event as { type: string }).type;
        const want = valueString((step.state as Snap).value);
        // CONNECT was sent by startSession; every other event comes from the device or the clock.
        if (type === "xstate.init" || type === "CONNECT") continue;
        if (type === "PAUSE") h.session.pause();
        else if (type === "RESUME") h.session.resume();
        // Two actions of one kind in a row (force, then the rest force) are one visit in the log.
        if (want !== prev) follow(want);
        prev = want;
      }
      expect(h.snapshot().state).toBe(target);
      h.session.stop();
      expect(h.finish(1_200_000)).toBe(true);
      const s = await h.session.done;
      expect(s.outcome).toBe("aborted");
      expect(Math.abs(h.device.truth().tilt - -80)).toBeLessThan(0.5);
      expect(h.device.truth().force).toBeLessThan(3);
    });
  }
});
