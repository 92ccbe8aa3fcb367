// Inputs and faults arriving at awkward moments: a safety hold on top of the user's pause, a link that
// goes away before the program starts, a device that refuses the limits while the table is tilted, a
// pause as a hold ends, a stop while preflight clears a fault, a reduced-speed finding during a return.
import { describe, expect, it } from "vitest";
import { VirtualClock, type AckMsg, type Clock, type TimerHandle } from "../../protocol/index.js";
import { createEmbeddedSim } from "../../device-sim/index.js";
import { DeviceLink } from "../../src/link/device-link.js";
import { startSession } from "../../src/session/run-session.js";
import { getBuiltin } from "../../src/programs/library.js";
import { parseProgram } from "../../src/programs/schema.js";
import { startHarness } from "./harness.js";

const beginner = getBuiltin("beginner")!;
const UPRIGHT = -80;
const QUICK = { restS: 5, pauseS: 2 };
const QUICK_SIM = { tilt: { restS: 5, pauseS: 2 } };

describe("a safety hold on top of the user's pause", () => {
  it("is not lifted by the user's resume, and clearing it leaves the user's pause in place", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    h.clock.advance(2000);
    expect(h.session.pause()).toBe(true);
    h.clock.advance(1000);
    // Telemetry stops for longer than the supervisor's hold threshold, shorter than the link loss.
    h.simLink.faults.down = true;
    expect(h.clock.runUntil(() => h.snapshot().safety === "hold", 900)).toBe(true);
    expect(h.session.resume()).toBe(false);
    h.clock.advance(100);
    expect(h.snapshot().phase).toBe("paused");
    h.simLink.faults.down = false;
    expect(h.clock.runUntil(() => h.snapshot().safety === "none", 2000)).toBe(true);
    h.clock.advance(2000);
    // The hold is gone, but the user never asked to go on.
    expect(h.snapshot().phase).toBe("paused");
    expect(h.snapshot().pausedBy).toBe("user");
    expect(h.session.resume()).toBe(true);
    expect(h.snapshot().state).toBe("running.hold");
    expect(h.finish()).toBe(true);
    expect((await h.session.done).outcome).toBe("completed");
  });
});

describe("a link lost before the program starts", () => {
  it("that never comes back ends the session once the link is given up, not after the follow timeout", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK, linkGiveUpMs: 20_000 }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^preflight/)).toBe(true);
    h.simLink.faults.down = true;
    expect(h.finish(60_000), h.states.join(" > ")).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("fault");
    expect(s.reason).toMatch(/link lost/);
    expect(h.device.actedCommands()).toBe(0);
  });

  it("that closes ends the session at once", async () => {
    const h = startHarness(beginner, { session: { ret: QUICK }, simConfig: QUICK_SIM });
    expect(h.runUntilState(/^preflight/)).toBe(true);
    void h.link.transport.close();
    expect(h.finish(5_000), h.states.join(" > ")).toBe(true);
    const s = await h.session.done;
    expect(s.outcome).toBe("fault");
  });
});

describe("a device that does not take the limits", () => {
  it("with the table left tilted head-down, brings the user back instead of refusing where they hang", async () => {
    const clock = new VirtualClock();
    const sim = createEmbeddedSim({ clock, config: QUICK_SIM, seed: 1 });
    const link = new DeviceLink(sim.companion, clock, { idPrefix: "s" });
    // An earlier command left the table head-down and holding (no return, no fault).
    let handshaken = false;
    link.startHandshake((err) => (handshaken = !err));
    expect(clock.runUntil(() => handshaken, 10_000)).toBe(true);
    link.sendCommand({ type: "move", axis: "tilt", target: 20, speed: 4 });
    expect(clock.runUntil(() => Math.abs(sim.device.truth().tilt - 20) < 0.3 && Math.abs(sim.device.truth().vel) < 0.01, 120_000)).toBe(true);
    const orig = link.sendCommand.bind(link);
    link.sendCommand = (body, cbs) => {
      if (body.type === "limits") {
        const ack: AckMsg = { v: 1, seq: 0, type: "ack", id: "refused", result: "rejected", reason: "test" };
        clock.setTimeout(() => cbs?.onAck?.(ack), 0);
        return "refused";
      }
      return orig(body, cbs);
    };
    const session = startSession({ link, clock, program: beginner, ret: QUICK });
    let ended = false;
    session.onEvent((e) => (ended = ended || e.code === "END"));
    expect(clock.runUntil(() => ended, 600_000)).toBe(true);
    const s = await session.done;
    expect(s.outcome).not.toBe("refused");
    expect(s.reason).toMatch(/limits/);
    expect(s.events.some((e) => e.code === "REST")).toBe(true);
    expect(Math.abs(sim.device.truth().tilt - UPRIGHT)).toBeLessThan(0.6);
  });
});

/** The session's clock with timers that fire late, as on a busy event loop; `now` stays exact. */
class LateClock implements Clock {
  constructor(
    private readonly inner: Clock,
    private readonly lateMs: number,
  ) {}
  now(): number {
    return this.inner.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.inner.setTimeout(fn, ms + this.lateMs);
  }
  clearTimeout(h: TimerHandle | undefined): void {
    this.inner.clearTimeout(h);
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.inner.setInterval(fn, ms);
  }
  clearInterval(h: TimerHandle | undefined): void {
    this.inner.clearInterval(h);
  }
}

describe("a pause right at the end of a hold", () => {
  it("does not run the whole hold again after the resume", async () => {
    const program = parseProgram({ name: "short-hold", steps: [{ type: "ramp", to: 20, speed: 4 }, { type: "hold", seconds: 30 }] });
    const h = startHarness(program, { session: { ret: QUICK }, simConfig: QUICK_SIM, sessionClock: (c) => new LateClock(c, 20) });
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    const holdAt = h.clock.now();
    // The hold is over, but its (late) timer has not fired yet.
    h.clock.advance(30_000 + 5);
    expect(h.snapshot().state).toBe("running.hold");
    expect(h.session.pause()).toBe(true);
    h.clock.advance(1000);
    expect(h.session.resume()).toBe(true);
    expect(h.runUntilState(/^returning/, 60_000)).toBe(true);
    expect(h.clock.now() - holdAt).toBeLessThan(30_000 + 1000 + 1000);
    expect(h.finish()).toBe(true);
  });
});

describe("a stop while preflight clears an old fault", () => {
  it("leaves no telemetry listener behind on the link once the session is over", async () => {
    const clock = new VirtualClock();
    const sim = createEmbeddedSim({ clock, config: QUICK_SIM, seed: 1 });
    // A companion that vanished without a word left WATCHDOG latched.
    const first = new DeviceLink(sim.companion, clock, { idPrefix: "a" });
    const short = parseProgram({ name: "short", steps: [{ type: "ramp", to: -70, speed: 5 }, { type: "hold", seconds: 1 }] });
    const before = startSession({ link: first, clock, program: short, ret: QUICK });
    let over = false;
    before.onEvent((e) => (over = over || e.code === "END"));
    expect(clock.runUntil(() => over, 600_000)).toBe(true);
    sim.link.faults.down = true;
    clock.advance(3000);
    sim.link.faults.down = false;
    expect(sim.device.truth().faults).toContain("WATCHDOG");

    const link = new DeviceLink(sim.companion, clock, { idPrefix: "b" });
    let listeners = 0;
    const on = link.onTelemetry.bind(link);
    link.onTelemetry = (cb) => {
      listeners++;
      const off = on(cb);
      let live = true;
      return () => {
        if (live) listeners--;
        live = false;
        off();
      };
    };
    // Answers take a moment, so the stop comes before the device has answered the clear.
    sim.link.faults.latencyMs = 20;
    const session = startSession({ link, clock, program: beginner, ret: QUICK });
    let state = "";
    let ended = false;
    session.onUpdate((s) => (state = s.state));
    session.onEvent((e) => (ended = ended || e.code === "END"));
    expect(clock.runUntil(() => state === "preflight.clearFaults", 10_000)).toBe(true);
    session.stop();
    expect(clock.runUntil(() => ended, 600_000)).toBe(true);
    clock.advance(5000);
    expect(listeners).toBe(0);
  });
});

describe("a reduced-speed finding during the companion's own return", () => {
  it("slows the return that is under way, as it would have slowed one it started", async () => {
    // The firmware's own mismatch threshold is looser than the companion's: only the companion sees it.
    const h = startHarness(beginner, { session: { ret: QUICK }, simConfig: { ...QUICK_SIM, sensors: { mismatchDeg: 15 } } });
    expect(h.runUntilState(/^running\.hold/)).toBe(true);
    h.session.stop();
    expect(h.runUntilState(/^returning\.descend/)).toBe(true);
    h.clock.runUntil(() => h.device.truth().vel < -3.9, 10_000);
    h.device.inject.sensorBias("inclinometer", 8);
    const at = h.clock.now();
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    expect(s.events.some((e) => e.code === "SUPERVISOR" && /return-reduced-speed/.test(e.message))).toBe(true);
    // Past the supervisor's delay and a deceleration, never faster than half the return speed.
    const after = h.truths.filter((t) => t.t > at + 1500);
    expect(Math.max(...after.map((t) => Math.abs(t.vel)))).toBeLessThanOrEqual(2.05);
    expect(Math.abs(h.device.truth().tilt - UPRIGHT)).toBeLessThan(0.6);
  });
});
