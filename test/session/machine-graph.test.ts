// Model-based tests from the machine's own graph (xstate/graph): every state is reachable, and from every
// reachable state a stop, a discomfort input, a lost link and a device fault each lead into the slow
// return (or end a session that has not moved yet), from which the return can always be completed and
// motion never resumes. The simulator-backed counterpart is interrupt-*.test.ts.
import { describe, expect, it } from "vitest";
import { getNextSnapshot, type SnapshotFrom } from "xstate";
import { getAdjacencyMap, getShortestPaths, getStateNodes } from "xstate/graph";
import type { CapsMsg, TelemetryMsg } from "../../protocol/index.js";
import { compileProgram } from "../../src/programs/compile.js";
import { parseProgram } from "../../src/programs/schema.js";
import type { SessionLink } from "../../src/session/actors.js";
import { sampleIsPassive, sampleUpdate, sessionMachine, type SessionMachineEvent } from "../../src/session/machine.js";

type Snap = SnapshotFrom<typeof sessionMachine>;

const program = parseProgram({
  name: "graph",
  steps: [
    { type: "ramp", to: 20, speed: 5 },
    { type: "traction", target: 60, holdS: 1, restS: 0, cycles: 1, rate: 20 },
    { type: "hold", seconds: 1 },
    { type: "pump", from: 10, to: 20, cycles: 1, speed: 5 },
  ],
});

// The traversal never starts invoked actors; the link is only there to satisfy the input.
const link: SessionLink = { sendCommand: () => "x", sendOnce: () => "x", startHandshake: () => {}, onTelemetry: () => () => {} };
const clock = { now: () => 0, setTimeout: () => ({ id: 0 }), clearTimeout: () => {}, setInterval: () => ({ id: 0 }), clearInterval: () => {} };
const input = { link, clock, program, actions: compileProgram(program), autoStart: true };

const caps: CapsMsg = {
  v: 1, seq: 0, type: "caps", model: "m", serial: "s", fw: "1", proto: 1, watchdogMs: 1000, tlmHz: 10,
  axes: { tilt: { min: -80, max: 90, upright: -80, speedMax: 10, returnSpeed: 4 }, traction: { max: 700, rateMax: 50 } },
};
const tlm = (tilt: number, force: number): TelemetryMsg => ({
  v: 1, seq: 0, type: "tlm", t: 0, tilt, tilt2: tilt, vel: 0, force, current: 0, lock: true, sw: "ok", mode: "holding", faults: [], rxErr: 0,
});

const afterEvents = getStateNodes(sessionMachine.root).flatMap((n) => n.after.map((a) => ({ type: a.eventType }) as unknown as SessionMachineEvent));

const INTERRUPTIONS: SessionMachineEvent[] = [
  { type: "STOP" },
  { type: "DISCOMFORT", kind: "pain" },
  { type: "LINK_LOST", reason: "test" },
  { type: "DEVICE_FAULT", code: "STOP_SWITCH", message: "test" },
];

/** What the device side can do while the companion returns (no user input, no new start). */
const RETURN_EVENTS: SessionMachineEvent[] = [
  { type: "STEP_DONE" },
  { type: "CMD_FAIL", message: "test", result: "rejected" },
  { type: "TLM", tlm: tlm(-80, 0) },
  { type: "TLM", tlm: tlm(5, 0) },
  { type: "DEVICE_RETURN_DONE" },
  { type: "LINK_RESTORED", rebooted: false },
  { type: "LINK_CLOSED" },
  { type: "FOLLOW_TIMEOUT" },
  ...afterEvents,
];

const ALL_EVENTS: SessionMachineEvent[] = [
  { type: "CONNECT" },
  { type: "START" },
  { type: "HANDSHAKE_OK", caps },
  { type: "HANDSHAKE_FAIL", message: "test" },
  { type: "TLM", tlm: tlm(-80, 0) },
  { type: "TLM", tlm: tlm(20, 60) },
  { type: "TLM", tlm: { ...tlm(-80, 0), faults: ["WATCHDOG"] } },
  { type: "FAULTS_CLEARED", results: [{ code: "WATCHDOG", result: "done" }], tlm: tlm(-80, 0) },
  { type: "PAUSE" },
  { type: "RESUME" },
  { type: "SUPERVISOR", action: "hold", message: "test" },
  { type: "SUPERVISOR", action: "return", message: "test" },
  { type: "SUPERVISOR", action: "return-reduced-speed", message: "test" },
  { type: "SUPERVISOR", action: "handed-to-firmware", message: "test" },
  { type: "SUPERVISOR_CLEAR" },
  ...INTERRUPTIONS,
  ...RETURN_EVENTS,
];

function stateKey(s: Snap): string {
  return JSON.stringify(s.value);
}

/** Collapses context to what changes behaviour, so the traversal stays finite. */
function serialize(s: Snap): string {
  const c = s.context;
  const t = c.tlm?.tilt;
  // Once returning (or over), the program position and pause reason no longer matter.
  const done = typeof s.value === "string" ? FINAL.has(s.value) : "returning" in s.value;
  return JSON.stringify([s.value, done ? "-" : c.index, done ? "-" : c.pausedBy, done ? "-" : c.userPauseUnderHold, t === undefined ? "-" : t > 1 ? "down" : t > -79 ? "mid" : "up", (c.tlm?.force ?? 0) > 2, c.outcome, c.wasHeadDown, !!c.caps, !!c.limits]);
}

const FINAL = new Set(["completed", "aborted", "fault", "refused"]);
const top = (s: Snap): string => (typeof s.value === "string" ? s.value : Object.keys(s.value)[0]);

describe("session machine graph", () => {
  const adjacency = getAdjacencyMap(sessionMachine, { input, events: ALL_EVENTS, serializeState: serialize, limit: 200_000 });
  const snapshots = Object.values(adjacency).map((a) => a.state as Snap);

  it("reaches every state (transient ones are passed through)", () => {
    // Waiting for START makes "ready" a resting state too.
    const manual = getAdjacencyMap(sessionMachine, { input: { ...input, autoStart: false }, events: ALL_EVENTS, serializeState: serialize, limit: 200_000 });
    const reached = new Set<string>();
    for (const a of Object.values(manual)) for (const n of (a.state as Snap)._nodes) reached.add(n.id);
    // Transient nodes (eventless choices, the final child that ends the return) never rest in a snapshot.
    const all = getStateNodes(sessionMachine.root)
      .filter((n) => n.type !== "history" && n.always === undefined && n.id !== "session.returning.done")
      .map((n) => n.id);
    expect(all.filter((id) => !reached.has(id))).toEqual([]);
    expect(all.length).toBeGreaterThan(20);
  });

  it("has a shortest path to every final outcome", () => {
    const paths = getShortestPaths(sessionMachine, { input, events: ALL_EVENTS, serializeState: serialize, limit: 200_000 });
    const outcomes = new Set(paths.map((p) => top(p.state as Snap)).filter((v) => FINAL.has(v)));
    expect([...outcomes].sort()).toEqual(["aborted", "completed", "fault", "refused"]);
  });

  it("never goes from the return back to running or paused", () => {
    for (const a of Object.values(adjacency)) {
      if (top(a.state as Snap) !== "returning") continue;
      for (const tr of Object.values(a.transitions) as { state: Snap }[]) expect(["running", "paused"]).not.toContain(top(tr.state as Snap));
    }
  });

  it("a sample skips the machine only where the machine would do nothing but store it", () => {
    // The session applies samples itself in passive states (the fleet's hot path); here the machine's
    // own answer to the same sample is compared in every reachable state, with samples of every kind.
    const samples = [tlm(-80, 0), tlm(20, 60), tlm(5, 0), { ...tlm(-80, 0), faults: ["WATCHDOG"] }, { ...tlm(30, 0), mode: "returning" as const }];
    const passiveStates = new Set<string>();
    const machineStates = new Set<string>();
    for (const s of snapshots) {
      if (s.status !== "active") continue;
      if (!sampleIsPassive(s)) {
        machineStates.add(stateKey(s));
        continue;
      }
      passiveStates.add(stateKey(s));
      for (const t of samples) {
        const next = getNextSnapshot(sessionMachine, s, { type: "TLM", tlm: t });
        expect(stateKey(next), `TLM in ${stateKey(s)}`).toBe(stateKey(s));
        expect(next.status).toBe("active");
        expect(next.context).toEqual({ ...s.context, ...sampleUpdate(s.context, t) });
        expect(Object.keys(next.children).sort()).toEqual(Object.keys(s.children).sort());
      }
    }
    // Both paths are in use: the program's resting states skip the machine, the preflight does not.
    for (const k of ['{"running":"hold"}', '{"running":"ramp"}', '"paused"', '{"returning":"rest"}', '{"returning":"device"}']) expect(passiveStates).toContain(k);
    expect(machineStates).toContain('{"preflight":"waitTelemetry"}');
  });

  const byState = new Map<string, Snap[]>();
  for (const s of snapshots) {
    if (s.status !== "active") continue;
    const k = stateKey(s);
    byState.set(k, [...(byState.get(k) ?? []), s]);
  }

  for (const ev of INTERRUPTIONS) {
    it(`${ev.type} from every active state leads into the slow return, which always completes`, () => {
      let checked = 0;
      const finishes = new Map<string, boolean>();
      for (const [k, list] of byState) {
        for (const s of list) {
          const next = getNextSnapshot(sessionMachine, s, ev);
          const t = top(next);
          const before = top(s);
          if (ev.type === "DEVICE_FAULT" && s.context.tlm === undefined && !s.context.limits) {
            // Before the first telemetry nothing has been commanded; the preflight check sees the fault.
            expect(stateKey(next)).toBe(k);
            continue;
          }
          if (before === "disconnected" || before === "handshaking") {
            // Nothing has moved and the link is not up yet: a stop ends the session or starts the (trivial)
            // return; a lost link cannot happen before the link exists.
            if (ev.type === "LINK_LOST" || ev.type === "DEVICE_FAULT") expect(stateKey(next)).toBe(k);
            else expect(["aborted", "returning"]).toContain(t);
            continue;
          }
          expect(t === "returning" || FINAL.has(t), `${ev.type} in ${k} went to ${stateKey(next)}`).toBe(true);
          if (t !== "returning") continue;
          // From there, the device-side events alone always finish the return.
          const key = serialize(next);
          let ok = finishes.get(key);
          if (ok === undefined) {
            const paths = getShortestPaths(sessionMachine, {
              fromState: next,
              events: RETURN_EVENTS,
              serializeState: serialize,
              toState: (x) => x.status === "done",
              limit: 50_000,
            });
            ok = paths.length > 0;
            finishes.set(key, ok);
          }
          expect(ok, `no way out of the return after ${ev.type} in ${k}`).toBe(true);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(20);
    });
  }
});
