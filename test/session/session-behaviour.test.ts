// Session behaviour against the simulator in virtual time: pause/resume, preflight refusals, supervisor
// decisions, fallbacks to the firmware's return, a permanent link loss and a device reboot.
import { describe, expect, it } from "vitest";
import { VirtualClock, type AckMsg } from "../../protocol/index.js";
import { createEmbeddedSim } from "../../device-sim/index.js";
import { DeviceLink } from "../../src/link/device-link.js";
import { startSession } from "../../src/session/run-session.js";
import { getBuiltin } from "../../src/programs/library.js";
import { parseProgram } from "../../src/programs/schema.js";
import { startHarness } from "./harness.js";
import { truthViolations } from "./invariants.js";
import { FakeDevice } from "../link/fake-device.js";

const beginner = getBuiltin("beginner")!;
const UPRIGHT = -80;
const QUICK = { restS: 5, pauseS: 2 };
const QUICK_SIM = { tilt: { restS: 5, pauseS: 2 } };

/** Makes the device reject every move while `on` is set (the return's moves included). */
function refuseMovesWhen(h: ReturnType<typeof startHarness>): { on: boolean } {
  const state = { on: false };
  const orig = h.link.sendCommand.bind(h.link);
  h.link.sendCommand = (body, cbs) => {
    if (state.on && body.type === "move") {
      const ack: AckMsg = { v: 1, seq: 0, type: "ack", id: "refused", result: "rejected", reason: "test" };
      h.clock.setTimeout(() => cbs?.onAck?.(ack), 0);
      return "refused";
    }
    return orig(body, cbs);
  };
  return state;
}

describe("pause and resume", () => {
  it("pause holds the table and freezes the dwell; resume finishes the remaining dwell", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    const holdStart = h.clock.now();
    h.clock.advance(30_000);
    h.session.pause();
    h.clock.advance(1000);
    expect(h.snapshot().phase).toBe("paused");
    const programAtPause = h.snapshot().programS;
    h.clock.advance(40_000);
    expect(h.snapshot().programS).toBeCloseTo(programAtPause, 5);
    expect(Math.abs(h.device.truth().vel)).toBeLessThan(0.01);
    h.session.resume();
    expect(h.runUntilState(/^returning/)).toBe(true);
    // 90 s of hold in total: 30 before the pause, 60 after it, plus the 41 s paused.
    expect((h.clock.now() - holdStart) / 1000).toBeGreaterThan(90 + 41 - 0.5);
    expect((h.clock.now() - holdStart) / 1000).toBeLessThan(90 + 41 + 0.5);
    expect(h.finish()).toBe(true);
    expect((await h.session.done).outcome).toBe("completed");
  });

  it("pause during a move stops the table where it is; resume moves on to the same target", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.ramp/)).toBe(true);
    h.clock.advance(10_000);
    h.session.pause();
    h.clock.advance(2000);
    const held = h.device.truth().tilt;
    expect(Math.abs(h.device.truth().vel)).toBeLessThan(0.01);
    h.clock.advance(20_000);
    expect(Math.abs(h.device.truth().tilt - held)).toBeLessThan(0.3);
    expect(held).toBeLessThan(15);
    h.session.resume();
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    expect(Math.abs(h.device.truth().tilt - 20)).toBeLessThan(0.3);
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("completed");
    expect(s.events.map((e) => e.code)).toEqual(expect.arrayContaining(["PAUSE", "RESUME"]));
  });

  it("a pause that lasts too long starts the slow return", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK, maxPauseMs: 60_000 }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    h.session.pause();
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("aborted");
    expect(s.reason).toBe("paused for too long");
    expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.5);
  });

  it("inputs after the session has ended change nothing and record nothing", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    h.session.abandon("companion shutting down");
    const s = await h.session.done;
    const warn = console.warn;
    const warnings: unknown[] = [];
    console.warn = (...a: unknown[]) => void warnings.push(a);
    try {
      h.session.pause();
      h.session.resume();
      h.session.stop();
      h.session.discomfort("pain");
    } finally {
      console.warn = warn;
    }
    expect(warnings).toEqual([]);
    expect(s.events.some((e) => e.code === "DISCOMFORT_INPUT")).toBe(false);
    expect(h.session.snapshot().phase).toBe(h.snapshot().phase);
    // The firmware's return is not disturbed by the late inputs.
    h.clock.runUntil(() => h.device.truth().mode === "idle" && Math.abs(h.device.truth().tilt - UPRIGHT) < 0.5, 600_000);
    expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.5);
  });
});

describe("preflight", () => {
  it.each([
    [{ initial: { sw: "disconnected" } }, /stop switch is not connected|SWITCH_DISCONNECTED/],
    [{ initial: { lock: false } }, /ankle lock is not engaged/],
  ])("refuses before any motion (%j)", async (simConfig, why) => {
    const h = startHarness(beginner, { simConfig });
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("refused");
    expect(s.reason).toMatch(why);
    expect(h.device.actedCommands()).toBe(0);
    expect(Math.max(...h.truths.map((t) => t.tilt))).toBeLessThan(UPRIGHT + 0.5);
  });

  it("refuses a program that needs more than the profile allows, naming the step and limit", async () => {
    const h = startHarness(beginner, { session: { profileLimits: { tiltMax: 10 } } });
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("refused");
    expect(s.reason).toMatch(/step 1 \(ramp\) goes to 20 deg but the profile limit is 10 deg/);
    expect(s.limits?.tiltMax).toBe(10);
    expect(s.refusedByDevice).toBeUndefined();
    expect(h.device.actedCommands()).toBe(0);
  });

  it("marks a device that never answers the handshake as the link's refusal, not a safety one", async () => {
    const clock = new VirtualClock();
    const dev = new FakeDevice(clock);
    dev.caps = null;
    const session = startSession({ link: new DeviceLink(dev.companionSide, clock, { idPrefix: "s" }), clock, program: beginner });
    let ended = false;
    session.onEvent((e) => (ended = ended || e.code === "END"));
    expect(clock.runUntil(() => ended, 60_000)).toBe(true);
    const s = await session.done;
    expect(s.outcome).toBe("refused");
    expect(s.reason).toMatch(/no answer to hello/);
    expect(s.refusedByDevice).toBe(true);
    expect(dev.received.filter((m) => m.type === "move")).toEqual([]);
  });

  it("runs the caller's device check (a user heavier than the device's rating) and refuses before motion", async () => {
    const h = startHarness(beginner, {
      session: { checkDevice: (caps) => ((caps.userMaxKg ?? Infinity) < 150 ? `user weighs 150 kg; the device is rated for ${caps.userMaxKg} kg` : undefined) },
    });
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("refused");
    expect(s.reason).toBe("user weighs 150 kg; the device is rated for 136 kg");
    expect(h.device.actedCommands()).toBe(0);
  });

  it("sends the effective limits to the device, acknowledged, before the first move", async () => {
    const h = startHarness(beginner, { session: { profileLimits: { speedMax: 4 }, ret: QUICK }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.ramp/)).toBe(true);
    const s = h.snapshot();
    expect(s.limits).toMatchObject({ tiltMax: 30, speedMax: 4 });
    expect(h.finish()).toBe(true);
    const sum = await h.session.done;
    const limitsAt = sum.events.find((e) => e.code === "LIMITS")!.t;
    const firstMove = h.truths.find((t) => t.tilt > UPRIGHT + 0.5)!.t;
    expect(limitsAt).toBeLessThan(firstMove);
    expect(sum.maxSpeed).toBeLessThanOrEqual(4.05);
  });
});

describe("safety", () => {
  it("a sensor mismatch ends in the device's reduced-speed return, upright", async () => {
    const h = startHarness(getBuiltin("oscillation")!, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.pump/)).toBe(true);
    h.clock.advance(3000);
    h.device.inject.sensorBias("inclinometer", 9);
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).not.toBe("completed");
    expect(s.events.some((e) => /SENSOR_MISMATCH|sensors disagree/.test(`${e.code} ${e.message}`))).toBe(true);
    expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.6);
    expect(truthViolations(h.truths, { limits: s.limits!, upright: UPRIGHT, returnSpeed: 4, approachSpeed: 1, approachZone: 10 })).toEqual([]);
  });

  it("falls back to the device's own return when the device refuses the companion's return moves", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    const refusing = refuseMovesWhen(h);
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    refusing.on = true;
    h.session.stop();
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("aborted");
    expect(s.events.map((e) => e.code)).toEqual(expect.arrayContaining(["RETURN_FALLBACK", "DEVICE_RETURN"]));
    expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.6);
  });

  it("a finished program whose return had to be left to the firmware is not completed (the ramp-up must not advance)", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    const refusing = refuseMovesWhen(h);
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    // The program runs to its end; only the return's moves are refused.
    refusing.on = true;
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.events.map((e) => e.code)).toEqual(expect.arrayContaining(["RETURN_FALLBACK", "DEVICE_RETURN"]));
    expect(s.outcome).toBe("fault");
    expect(s.reason).toMatch(/return move failed/);
    expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.6);
  });

  it("a link that never comes back ends the session as a fault while the firmware brings the table upright", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK, linkGiveUpMs: 200_000 }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    h.simLink.faults.down = true;
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("fault");
    expect(s.reason).toMatch(/device returning on its own \(watchdog\)/);
    expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.6);
  });

  it("a device reboot mid-session is noticed, motion is never resumed, and the table ends upright", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    h.device.inject.powerLoss(3000);
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("fault");
    expect(s.link.reboots).toBe(1);
    expect(s.events.some((e) => e.code === "DEVICE_REBOOT")).toBe(true);
    expect(h.states.slice(h.states.findIndex((x) => x.startsWith("returning")))).not.toContainEqual(expect.stringMatching(/^running|^paused/));
    expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.6);
  });

  it("a program faster than the device allows is refused before any motion", async () => {
    const fast = parseProgram({ name: "fast", steps: [{ type: "ramp", to: 10, speed: 20 }] });
    const h = startHarness(fast);
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("refused");
    expect(s.reason).toMatch(/moves at 20 deg\/s but the device limit is 10 deg\/s/);
  });
});

describe("abandoning a session", () => {
  it("stops the machine and hands the user to the firmware's return with explicit commands", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    const acted = h.device.actedCommands();
    h.session.abandon("companion shutting down");
    const s = await h.session.done;
    expect(s.outcome).toBe("aborted");
    expect(s.events.some((e) => e.code === "ABANDONED")).toBe(true);
    // No session drives the device any more: the firmware's own return brings the table upright.
    h.clock.runUntil(() => h.device.truth().mode === "idle" && Math.abs(h.device.truth().tilt - UPRIGHT) < 0.5, 600_000);
    expect(h.device.actedCommands()).toBeGreaterThan(acted);
    expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.5);
  });
});

describe("time left", () => {
  it("the estimate at the start matches the real session, and it counts down through rests", async () => {
    const h = startHarness(getBuiltin("oscillation")!);
    expect(h.runUntilState(/^running/)).toBe(true);
    const t0 = h.clock.now();
    const estimate = h.snapshot().remainingS!;
    expect(h.runUntilState(/^returning\.rest/)).toBe(true);
    h.clock.advance(20_000);
    const inRest = h.snapshot().remainingS!;
    h.clock.advance(20_000);
    expect(h.snapshot().remainingS!).toBeCloseTo(inRest - 20, 0);
    expect(h.finish()).toBe(true);
    const actual = (h.clock.now() - t0) / 1000;
    expect(Math.abs(estimate - actual) / actual).toBeLessThan(0.05);
  });
});

describe("link closed", () => {
  it("a transport that closes mid-session ends the session at once, handed to the firmware, which returns", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    void h.link.transport.close();
    const s = await h.session.done;
    expect(s.outcome).toBe("fault");
    expect(s.reason).toMatch(/link closed: device returning on its own/);
    h.clock.runUntil(() => h.device.truth().mode === "idle" && Math.abs(h.device.truth().tilt - UPRIGHT) < 0.5, 600_000);
    expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.5);
  });
});

describe("noisy link", () => {
  it.each([1, 2, 3, 4, 5])("completes a program within every limit with corrupted bytes, latency and jitter (seed %i)", async (seed) => {
    const h = startHarness(getBuiltin("oscillation")!, { seed, session: { ret: QUICK }, simConfig: QUICK_SIM });
    // About one telemetry frame in six and one command or ack in sixteen is lost (CRC), "done" included;
    // four lost tries in a row (a safe abort, tested elsewhere) stay rare enough for a program to complete.
    Object.assign(h.simLink.faults, { corruptRate: 0.001, latencyMs: 5, jitterMs: 10 });
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome, s.reason).toBe("completed");
    expect(s.link.rxDrops).toBeGreaterThan(50);
    expect(truthViolations(h.truths, { limits: s.limits!, upright: UPRIGHT, returnSpeed: 4, approachSpeed: 1, approachZone: 10 })).toEqual([]);
    expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.5);
  });
});

describe("discomfort", () => {
  it("stops at once with a controlled deceleration, records it, then returns slowly", async () => {
    const h = startHarness(getBuiltin("oscillation")!, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.pump/)).toBe(true);
    // Wait until the table is cruising head-down.
    h.clock.runUntil(() => h.device.truth().vel > 7, 60_000);
    const at = h.clock.now();
    h.session.discomfort("pain");
    h.clock.advance(1500);
    const window = h.truths.filter((t) => t.t >= at && t.t <= at + 1500);
    // From the input on, the head-down speed only falls (no jerk forward), and within 1.5 s the table no longer moves head-down.
    for (let i = 1; i < window.length; i++) expect(window[i].vel).toBeLessThanOrEqual(window[i - 1].vel + 0.05);
    expect(h.device.truth().vel).toBeLessThanOrEqual(0.05);
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("aborted");
    expect(s.discomfort).toBe(true);
    expect(s.discomfortKind).toBe("pain");
    expect(s.events.find((e) => e.kind === "discomfort")?.atS).toBeCloseTo((at - h.truths[0].t) / 1000, 0);
    expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.5);
  });
});

describe("a session after another", () => {
  it("clears the watchdog fault latched when the previous companion went away, then runs", async () => {
    const clock = new VirtualClock();
    const sim = createEmbeddedSim({ clock });
    const short = parseProgram({ name: "short", steps: [{ type: "ramp", to: -70, speed: 5 }, { type: "hold", seconds: 1 }] });
    const run = async (link: DeviceLink) => {
      const h = startSession({ link, clock, program: short });
      let end = false;
      h.onEvent((e) => (end = end || e.code === "END"));
      clock.runUntil(() => end, 600_000);
      return h.done;
    };
    const first = new DeviceLink(sim.companion, clock);
    expect((await run(first)).outcome).toBe("completed");
    // The first companion vanishes without a word (no heartbeats): the device latches WATCHDOG.
    sim.link.faults.down = true;
    clock.advance(3000);
    sim.link.faults.down = false;
    expect(sim.device.truth().faults).toContain("WATCHDOG");
    const second = await run(new DeviceLink(sim.companion, clock));
    expect(second.outcome, second.reason).toBe("completed");
    expect(second.events.some((e) => e.code === "CLEAR" && /cleared WATCHDOG/.test(e.message))).toBe(true);
  });
});

describe("a session that finds the firmware returning", () => {
  it("follows that return, rest included, instead of halting it and rising at once", async () => {
    const clock = new VirtualClock();
    const sim = createEmbeddedSim({ clock, seed: 1 });
    const program = parseProgram({ name: "hold", steps: [{ type: "ramp", to: 40, speed: 5 }, { type: "hold", seconds: 600 }] });
    const first = startSession({ link: new DeviceLink(sim.companion, clock, { idPrefix: "a" }), clock, program });
    clock.runUntil(() => first.snapshot().state.startsWith("running.hold"), 600_000);
    // The first companion goes away mid-session; the firmware brings the user back and rests at 0.
    first.abandon("companion going away");
    expect(clock.runUntil(() => sim.device.truth().ret === "rest", 600_000)).toBe(true);
    clock.advance(5000);
    const restFrom = clock.now() - 5000;
    const truths: { t: number; tilt: number; ret?: string }[] = [];
    sim.device.onStep((s) => truths.push({ t: s.t, tilt: s.tilt, ret: s.ret }));
    const second = startSession({ link: new DeviceLink(sim.companion, clock, { idPrefix: "b" }), clock, program });
    let ended = false;
    second.onEvent((e) => (ended = ended || e.code === "END"));
    expect(clock.runUntil(() => ended, 600_000)).toBe(true);
    const s = await second.done;
    expect(s.outcome).toBe("fault");
    expect(s.reason).toMatch(/device is returning/);
    expect(s.events.some((e) => e.code === "DEVICE_RETURN")).toBe(true);
    // The rest ran its full minute before the head rose, and the pause at -15 deg followed.
    const rose = truths.find((t) => t.tilt < -1)!;
    expect(rose.t - restFrom).toBeGreaterThanOrEqual(60_000);
    expect(truths.filter((t) => Math.abs(t.tilt + 15) < 0.1 && t.ret === "pause").length * 10).toBeGreaterThanOrEqual(9_000);
    expect(sim.device.truth().mode).toBe("idle");
    expect(Math.abs(sim.device.truth().tilt - UPRIGHT)).toBeLessThan(0.5);
  });
});

describe("time head-down against the device's cap", () => {
  it("refuses before any motion a program that would keep the user head-down past the connected device's cap", async () => {
    const long = parseProgram({ name: "long", steps: [{ type: "ramp", to: 30, speed: 5 }, { type: "hold", seconds: 200 }] });
    const h = startHarness(long, { simConfig: { ...QUICK_SIM, maxInvertedS: 120 }, session: { ret: QUICK } });
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("refused");
    expect(s.reason).toMatch(/step 2 \(hold\) keeps the user head-down for \d+ s .*the device allows 120 s/);
    expect(Math.max(...h.truths.map((t) => t.tilt))).toBeLessThan(-79);
    expect(s.events.some((e) => e.code === "MAX_TIME_INVERTED")).toBe(false);

    // The same program fits a device that allows it.
    const ok = startHarness(long, { simConfig: { ...QUICK_SIM, maxInvertedS: 600 }, session: { ret: QUICK } });
    expect(ok.finish()).toBe(true);
    expect((await ok.session.done).outcome).toBe("completed");
  });

  it("counts the way back at the profile's speed cap, which the return also keeps to", async () => {
    // Head-down 30 s up, 60 s held: with the way back at the device's 4 deg/s it fits 120 s; at the
    // profile's 1 deg/s it takes 30 s more and the firmware's cut-off would end the session.
    const slow = parseProgram({ name: "slow", steps: [{ type: "ramp", to: 30, speed: 1 }, { type: "hold", seconds: 60 }] });
    const h = startHarness(slow, { simConfig: { ...QUICK_SIM, maxInvertedS: 120 }, session: { ret: QUICK, profileLimits: { speedMax: 1 } } });
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("refused");
    expect(s.reason).toMatch(/step 2 \(hold\) keeps the user head-down for \d+ s .*the device allows 120 s/);
    expect(Math.max(...h.truths.map((t) => t.tilt))).toBeLessThan(-79);

    // Without the profile's cap the same program fits.
    const ok = startHarness(slow, { simConfig: { ...QUICK_SIM, maxInvertedS: 120 }, session: { ret: QUICK } });
    expect(ok.finish()).toBe(true);
    expect((await ok.session.done).outcome).toBe("completed");
  });
});

describe("a safety hold", () => {
  it("is not lifted by the user's resume, only by the supervisor once telemetry is fresh again", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.ramp/)).toBe(true);
    h.clock.advance(1000);
    // Telemetry stops for longer than the supervisor's hold threshold, shorter than the link loss.
    h.simLink.faults.down = true;
    expect(h.runUntilState(/^paused$/, 900)).toBe(true);
    expect(h.session.resume()).toBe(false);
    h.clock.advance(100);
    expect(h.snapshot().state).toBe("paused");
    h.simLink.faults.down = false;
    expect(h.runUntilState(/^running\.ramp/, 2000)).toBe(true);
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("completed");
    expect(s.events.filter((e) => e.code === "HOLD")).toHaveLength(1);
    expect(s.events.filter((e) => e.code === "RESUME").map((e) => e.message)).toEqual(["supervisor hold cleared"]);
  });
});
