// Telemetry samples in a resting state (a hold, a pause, a return phase) skip the session machine (see
// sampleIsPassive; machine-graph.test.ts proves the machine would only have stored them). These tests
// pin what must not change with that: the supervisor judges every sample, listeners still see every
// sample, and a sample past a limit still ends in the return at once.
import { describe, expect, it } from "vitest";
import { VirtualClock, type Outgoing, type TelemetryMsg } from "../../protocol/index.js";
import { DeviceLink } from "../../src/link/device-link.js";
import { parseProgram } from "../../src/programs/schema.js";
import { startSession, type SessionEvent } from "../../src/session/run-session.js";
import { FakeDevice } from "../link/fake-device.js";

const hold = parseProgram({ name: "long-hold", steps: [{ type: "hold", seconds: 600 }] });

function holdingSession(superviseEveryMs = 3_600_000) {
  const clock = new VirtualClock();
  const dev = new FakeDevice(clock);
  const link = new DeviceLink(dev.companionSide, clock, { idPrefix: "p" });
  dev.startTelemetry({ mode: "holding" });
  const session = startSession({ link, clock, program: hold, profileLimits: { tiltMax: 20 }, superviseEveryMs });
  const events: SessionEvent[] = [];
  session.onEvent((e) => events.push(e));
  expect(clock.runUntil(() => session.snapshot().state === "running.hold", 10_000)).toBe(true);
  return { clock, dev, session, events };
}

const sample = (clock: VirtualClock, over: Partial<TelemetryMsg>): Outgoing<TelemetryMsg> => ({
  type: "tlm", t: clock.now(), tilt: -80, tilt2: -80, vel: 0, current: 0, lock: true, sw: "ok", mode: "holding", faults: [], rxErr: 0, ...over,
});

describe("telemetry samples in a resting state", () => {
  it("reach every listener and the snapshot, without a state change per sample", () => {
    const { clock, dev, session } = holdingSession();
    let updates = 0;
    let changes = 0;
    const seen: number[] = [];
    session.onUpdate(() => updates++);
    session.onStateChange?.(() => changes++);
    session.onSample((t) => seen.push(t.tilt));
    dev.stopTelemetry();
    dev.startTelemetry({ mode: "holding", tilt: -79.5, tilt2: -79.5 });
    clock.advance(1000);
    expect(seen.length).toBeGreaterThanOrEqual(9);
    expect(updates).toBe(seen.length);
    expect(changes).toBe(0);
    expect(session.snapshot().tilt).toBe(-79.5);
    expect(session.snapshot().state).toBe("running.hold");
  });

  // In the next two the periodic check is pushed out of reach: whatever the supervisor decides, it decides on a sample.
  it("a single sample past the tilt limit starts the return at that sample", () => {
    const { clock, dev, session, events } = holdingSession();
    let changes = 0;
    session.onStateChange?.(() => changes++);
    let badAt: number | undefined;
    session.onSample((t) => {
      if (t.tilt > 20 && badAt === undefined) badAt = clock.now();
    });
    clock.advance(350);
    dev.send(sample(clock, { tilt: 45, tilt2: 45 }));
    clock.advance(200);
    expect(badAt).toBeDefined();
    const sup = events.find((e) => e.code === "SUPERVISOR");
    expect(sup?.message).toMatch(/tilt 45\.0 deg outside/);
    expect(sup?.t).toBe(badAt);
    expect(session.snapshot().phase).toBe("returning");
    expect(changes).toBeGreaterThan(0);
  });

  it("a sample showing the stop switch pressed hands the user to the firmware's return at that sample", () => {
    const { clock, dev, session, events } = holdingSession();
    let pressedAt: number | undefined;
    session.onSample((t) => {
      if (t.sw === "pressed" && pressedAt === undefined) pressedAt = clock.now();
    });
    clock.advance(250);
    dev.send(sample(clock, { sw: "pressed" }));
    clock.advance(50);
    const sup = events.find((e) => e.code === "SUPERVISOR");
    expect(sup?.message).toMatch(/handed-to-firmware: patient stop switch pressed/);
    expect(sup?.t).toBe(pressedAt);
    // Upright already, so following the firmware's return ends at once.
    expect(events.find((e) => e.code === "DEVICE_RETURN")?.t).toBe(pressedAt);
    expect(session.snapshot().phase).not.toBe("running");
  });

  it("when samples stop, the periodic check still holds on stale telemetry", () => {
    const { clock, dev, session, events } = holdingSession(100);
    let lastAt = 0;
    session.onSample(() => (lastAt = clock.now()));
    clock.advance(1000);
    expect(events.filter((e) => e.code === "SUPERVISOR")).toEqual([]);
    dev.stopTelemetry();
    clock.advance(800);
    const warn = events.find((e) => e.code === "SUPERVISOR" && e.message.startsWith("warn: telemetry is"));
    const hold = events.find((e) => e.code === "SUPERVISOR" && e.message.startsWith("hold: telemetry is"));
    // Stale past 2.5 periods (warn) and 5 periods (hold), noticed within one 100 ms tick.
    expect(warn!.t - lastAt).toBeGreaterThan(250);
    expect(warn!.t - lastAt).toBeLessThanOrEqual(350);
    expect(hold!.t - lastAt).toBeGreaterThan(500);
    expect(hold!.t - lastAt).toBeLessThanOrEqual(600);
    expect(session.snapshot().phase).toBe("paused");
  });
});

