// From every state a session can be in, each kind of interruption (stop, discomfort, lost link, device
// fault) must end in the slow return with the table upright: checked against the simulator's ground
// truth. Shared by one test file per interruption, so the four run in parallel.
import { expect, it } from "vitest";
import { parseProgram, type Program } from "../../src/programs/schema.js";
import { startHarness, type Harness } from "./harness.js";
import { truthViolations } from "./invariants.js";

/** Short, but with every running sub-state: ramp, traction, hold, pump. */
export const COVER_PROGRAM: Program = parseProgram({
  name: "cover",
  steps: [
    { type: "ramp", to: 25, speed: 5 },
    { type: "traction", target: 100, holdS: 6, restS: 0, restPct: 50, cycles: 1, rate: 20 },
    { type: "hold", seconds: 6 },
    { type: "pump", from: 10, to: 25, cycles: 2, dwell: 2, speed: 5 },
  ],
});

/** Shorter rests than the defaults, on both sides, so each case runs in a fraction of a second. */
const SIM = { model: "combo", tilt: { restS: 5, pauseS: 2 } };
const RET = { restS: 5, pauseS: 2 };
const UPRIGHT = -80;

export type Interruption = "stop" | "discomfort" | "link-lost" | "device-fault";

interface Target {
  name: string;
  /** Drives the harness into the state; returns false if it could not. */
  reach(h: Harness): boolean;
}

const until = (re: RegExp) => (h: Harness) => h.runUntilState(re, 400_000);

/** Stop during the traction hold, so the return starts with traction and head-down, then wait for `re`. */
const inReturn = (re: RegExp) => (h: Harness) => {
  if (!h.runUntilState(/^running\.hold/, 400_000)) return false;
  h.session.stop();
  return h.runUntilState(re, 400_000);
};

export const TARGETS: Target[] = [
  { name: "handshaking", reach: (h) => /^handshaking/.test(h.snapshot().state) },
  { name: "preflight", reach: until(/^preflight/) },
  { name: "running.ramp", reach: (h) => until(/^running\.ramp/)(h) && (h.clock.advance(3000), true) },
  { name: "running.traction", reach: (h) => until(/^running\.traction/)(h) && (h.clock.advance(2000), true) },
  { name: "running.hold", reach: (h) => until(/^running\.hold/)(h) && (h.clock.advance(2000), true) },
  { name: "running.pump", reach: (h) => until(/^running\.pump/)(h) && (h.clock.advance(1500), true) },
  {
    name: "paused",
    reach: (h) => {
      if (!until(/^running\.pump/)(h)) return false;
      h.clock.advance(1000);
      h.session.pause();
      h.clock.advance(2000);
      return h.snapshot().phase === "paused";
    },
  },
  { name: "returning.release", reach: inReturn(/^returning\.release/) },
  { name: "returning.descend", reach: (h) => inReturn(/^returning\.descend/)(h) && (h.clock.advance(1000), true) },
  { name: "returning.rest", reach: (h) => inReturn(/^returning\.rest/)(h) && (h.clock.advance(1000), true) },
  { name: "returning.toPause", reach: (h) => inReturn(/^returning\.toPause/)(h) && (h.clock.advance(1000), true) },
  { name: "returning.pause", reach: inReturn(/^returning\.pause/) },
  { name: "returning.rise", reach: (h) => inReturn(/^returning\.rise/)(h) && (h.clock.advance(3000), true) },
  { name: "returning.approach", reach: (h) => inReturn(/^returning\.approach/)(h) && (h.clock.advance(2000), true) },
  {
    name: "returning.device",
    reach: (h) => {
      if (!until(/^running\.hold/)(h)) return false;
      h.device.inject.pressStopSwitch({ durationMs: 500 });
      return h.runUntilState(/^returning\.device/, 10_000) && (h.clock.advance(3000), true);
    },
  },
  {
    name: "returning.linkLost",
    reach: (h) => {
      if (!until(/^running\.hold/)(h)) return false;
      h.simLink.dropFor(6000);
      return h.runUntilState(/^returning\.linkLost/, 10_000) && (h.clock.advance(500), true);
    },
  },
];

function interrupt(h: Harness, what: Interruption): void {
  switch (what) {
    case "stop":
      h.session.stop();
      break;
    case "discomfort":
      h.session.discomfort("dizziness");
      break;
    case "link-lost":
      // Longer than the device watchdog (1 s) and the companion's loss detection: both sides act alone.
      h.simLink.dropFor(4000);
      break;
    case "device-fault":
      h.device.inject.pressStopSwitch({ durationMs: 500 });
      break;
  }
}

export function interruptionSuite(what: Interruption): void {
  for (const target of TARGETS) {
    it(`${what} in ${target.name} ends upright after a slow return`, async () => {
      const h = startHarness(COVER_PROGRAM, { simConfig: SIM, session: { ret: RET } });
      expect(target.reach(h), `could not reach ${target.name}: ${h.states.join(" > ")}`).toBe(true);
      const at = h.clock.now();
      const before = h.snapshot();
      interrupt(h, what);
      expect(h.finish(1_200_000), `session did not end: ${h.states.slice(-8).join(" > ")}`).toBe(true);
      const s = await h.session.done;
      const truth = h.device.truth();
      expect(Math.abs(truth.tilt - UPRIGHT), `ended at ${truth.tilt}`).toBeLessThan(0.6);
      expect(truth.force).toBeLessThan(3);
      if (before.phase === "returning" || before.phase === "running" || before.phase === "paused") {
        expect(s.outcome).not.toBe("completed");
        expect(h.states.some((x) => x.startsWith("returning"))).toBe(true);
      }
      if (what === "discomfort") {
        expect(s.discomfort).toBe(true);
        expect(s.events.some((e) => e.kind === "discomfort")).toBe(true);
      }
      if (what === "link-lost" && before.phase !== "connecting" && before.phase !== "preflight") {
        expect(s.events.some((e) => e.code === "LINK_LOST")).toBe(true);
      }
      // Limits and speeds all along; after the interruption has been handled, no fast approach to upright.
      if (s.limits) {
        const settleAt = at + 2000;
        const after = h.truths.filter((t) => t.t >= settleAt);
        expect(truthViolations(h.truths, { limits: s.limits, upright: UPRIGHT, returnSpeed: 4, approachSpeed: 1, approachZone: 10 })).toEqual([]);
        const fastNearUpright = after.filter((t) => t.tilt < UPRIGHT + 9.5 && Math.abs(t.vel) > 1.05);
        expect(fastNearUpright.slice(0, 3)).toEqual([]);
      }
    });
  }
}
