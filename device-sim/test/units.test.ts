// Pure parts in isolation: the motion profile, the failsafe decision, the config schema, flag parsing,
// and link faults on a non-inproc transport.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock, mulberry32, validate, type AnyMsg } from "../../protocol/index.js";
import { brakeDistance, stepSegment, type AxisSetpoint } from "../firmware/profile.js";
import { planReturn } from "../firmware/return-plan.js";
import { decide } from "../firmware/safety.js";
import { Loopback, faultyOverLoopback } from "./loopback.js";
import { FaultyTransport, createSimDevice, parseSimConfig, SimConfigError, parseDropLink, parseLatency, parsePowerLoss, parseSensorBias, parseCorrupt } from "../index.js";

describe("motion profile", () => {
  it("reaches any target from any state within limits: no overshoot, accel and speed bounded", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -80, max: 90, noNaN: true }),
        fc.double({ min: -80, max: 90, noNaN: true }),
        fc.double({ min: 0.5, max: 10, noNaN: true }),
        fc.double({ min: 1, max: 30, noNaN: true }),
        (from, target, vMax, accel) => {
          const dt = 0.01;
          let sp: AxisSetpoint = { p: from, v: 0 };
          const lo = Math.min(from, target);
          const hi = Math.max(from, target);
          let worst = "";
          for (let i = 0; i < 100_000; i++) {
            const prev = sp;
            const r = stepSegment(sp, { target, vMax, accel }, dt);
            sp = r.sp;
            if (Math.abs(sp.v) > vMax + 1e-9) worst = `speed ${sp.v}`;
            if (Math.abs(sp.v - prev.v) > accel * dt + 1e-9) worst = `accel ${(sp.v - prev.v) / dt}`;
            if (sp.p < lo - 1e-9 || sp.p > hi + 1e-9) worst = `position ${sp.p} outside [${lo}, ${hi}]`;
            if (worst || r.arrived) break;
          }
          expect(worst).toBe("");
          expect(sp).toEqual({ p: target, v: 0 });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("hands over at the end speed without exceeding it past the segment's target", () => {
    let sp: AxisSetpoint = { p: -15, v: 0 };
    let arrived = false;
    for (let i = 0; i < 10_000 && !arrived; i++) {
      const r = stepSegment(sp, { target: -70, vMax: 4, accel: 10, vEnd: 1 }, 0.01);
      sp = r.sp;
      arrived = r.arrived;
    }
    expect(arrived).toBe(true);
    expect(Math.abs(sp.v)).toBeLessThanOrEqual(1 + 1e-9);
    // It ends on the step that reaches (or just passes) the target, so at most one step at <= vEnd beyond it.
    expect(sp.p).toBeLessThanOrEqual(-70);
    expect(sp.p).toBeGreaterThanOrEqual(-70 - 1 * 0.01);
  });

  it("computes the discrete braking distance", () => {
    expect(brakeDistance(0.2, 0, 0.1, 0.01)).toBeCloseTo(0.001, 12);
    expect(brakeDistance(1, 0, 0.1, 0.01)).toBeCloseTo(0.01 * 4.5, 12);
    expect(brakeDistance(1, 1, 0.1, 0.01)).toBe(0);
  });
});

describe("return plan", () => {
  const p = parseSimConfig({}).tilt;
  it("from head-down: descend, rest, rise, pause, rise (arriving at approach speed), approach", () => {
    const s = planReturn(45, p, { reduced: false, rest: true });
    expect(s.map((x) => x.phase)).toEqual(["descend", "rest", "rise", "pause", "rise", "approach"]);
    expect(s[4]).toMatchObject({ kind: "move", target: -70, vMax: 4, vEnd: 1 });
    expect(s[5]).toMatchObject({ kind: "move", target: -80, vMax: 1 });
  });
  it("reduced speed after a critical fault", () => {
    const s = planReturn(10, p, { reduced: true, rest: false });
    expect(s.filter((x) => x.kind === "move").map((x) => (x.kind === "move" ? x.vMax : 0))).toEqual([2, 2, 2, 1]);
  });
  it("inside the approach zone: only the approach", () => {
    expect(planReturn(-75, p, { reduced: false, rest: true }).map((x) => x.phase)).toEqual(["approach"]);
  });
});

describe("decide (most severe action wins)", () => {
  const base = { pending: [] as const, safe: false, criticalLatched: false };
  it("does nothing without pending trips", () => {
    expect(decide(0, base)).toEqual({ kind: "none" });
  });
  it("picks the most severe of several trips", () => {
    const a = decide(0, { ...base, pending: ["WATCHDOG", "SENSOR_MISMATCH", "STOP_SWITCH"] });
    expect(a).toMatchObject({ kind: "return", cause: "SENSOR_MISMATCH", reduced: true, brake: "emergency" });
  });
  it("does not restart a return for a less or equally severe trip, but upgrades for a more severe one", () => {
    expect(decide(0, { ...base, pending: ["MAX_TIME_INVERTED"], active: { rank: 1, reduced: false } })).toEqual({ kind: "none" });
    expect(decide(0, { ...base, pending: ["STOP_SWITCH"], active: { rank: 1, reduced: false } })).toMatchObject({ kind: "return", cause: "STOP_SWITCH" });
  });
  it("slows a running return for a critical trip of lower rank, keeping the running return's rank", () => {
    const a = decide(0, { ...base, pending: ["OVERFORCE"], criticalLatched: true, active: { rank: 2, reduced: false } });
    expect(a).toMatchObject({ kind: "return", cause: "OVERFORCE", reduced: true, rank: 2 });
    expect(decide(0, { ...base, pending: ["OVERFORCE"], criticalLatched: true, active: { rank: 2, reduced: true } })).toEqual({ kind: "none" });
  });
  it("does nothing when already safe, and slows every return once a critical fault is latched", () => {
    expect(decide(0, { ...base, pending: ["WATCHDOG"], safe: true })).toEqual({ kind: "none" });
    expect(decide(0, { ...base, pending: ["WATCHDOG"], criticalLatched: true })).toMatchObject({ reduced: true });
  });
  it("ignores informational codes", () => {
    expect(decide(0, { ...base, pending: ["BOOT"] })).toEqual({ kind: "none" });
  });
});

describe("config", () => {
  it("fills the agreed defaults", () => {
    const c = parseSimConfig(undefined);
    expect(c.tilt).toMatchObject({ min: -80, max: 90, upright: -80, speedMax: 10, accelMax: 10, emergencyDecel: 30, returnSpeed: 4, approachSpeed: 1, approachZone: 10, restS: 60, pauseAngle: -15, pauseS: 10 });
    expect(c.traction).toMatchObject({ max: 700, rateMax: 50, returnRate: 20 });
    expect(c).toMatchObject({ model: "table", watchdogMs: 1000, tlmHz: 10, stepMs: 10, maxInvertedS: 900, userWeightKg: 80 });
    expect(c.sensors.mismatchDeg).toBe(5);
  });
  it.each([
    [{ tilt: { speedMax: 0 } }, "tilt.speedMax"],
    [{ tilt: { spedMax: 5 } }, "tilt.spedMax"],
    [{ model: "chair" }, "model"],
    [{ tilt: { min: 10, max: 0 } }, "tilt.min"],
    [{ tilt: { returnSpeed: 20 } }, "tilt.returnSpeed"],
    [{ watchdogMs: 10 }, "watchdogMs"],
    [{ traction: { returnRate: 80 } }, "traction.returnRate"],
    ["nonsense", "(config)"],
  ])("refuses %j naming %s", (input, field) => {
    let err: unknown;
    try {
      parseSimConfig(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimConfigError);
    expect((err as SimConfigError).field).toBe(field);
    expect((err as Error).message.startsWith(`${field}: `)).toBe(true);
  });
});

describe("fault flags", () => {
  it("parses the documented forms", () => {
    expect(parseDropLink("10:3")).toEqual({ atS: 10, durationS: 3 });
    expect(parseLatency("50:20")).toEqual({ ms: 50, jitterMs: 20 });
    expect(parseLatency("50")).toEqual({ ms: 50, jitterMs: 0 });
    expect(parsePowerLoss("30:5")).toEqual({ atS: 30, offS: 5 });
    expect(parseSensorBias("-6:12:encoder")).toEqual({ deg: -6, atS: 12, sensor: "encoder" });
    expect(parseCorrupt("0.01")).toBe(0.01);
  });
  it.each([
    () => parseDropLink("10"),
    () => parseDropLink("a:b"),
    () => parseCorrupt("2"),
    () => parseLatency("-1"),
    () => parseSensorBias("3:1:gyro"),
    () => parsePowerLoss("5"),
  ])("refuses bad values with the flag's name", (f) => {
    expect(f).toThrow(/^--[a-z-]+: /);
  });
});

describe("link faults on a wrapped transport (serial, MQTT)", () => {
  const hb: AnyMsg = { v: 1, seq: 1, type: "hb" };
  it("drops everything while down, then delivers again", () => {
    const { clock, inner, t } = faultyOverLoopback(mulberry32(1));
    const got: AnyMsg[] = [];
    t.setHandlers({ onMessage: (m) => got.push(m) });
    t.dropFor(1000);
    inner.h.onMessage(hb);
    t.send(hb);
    expect(got).toEqual([]);
    expect(inner.sent).toEqual([]);
    clock.advance(1000);
    inner.h.onMessage(hb);
    expect(got).toHaveLength(1);
  });
  it("corrupted frames fail their CRC and count as drops", () => {
    const { clock, inner, t } = faultyOverLoopback(mulberry32(2));
    let ok = 0;
    t.setHandlers({ onMessage: () => ok++ });
    t.faults.corruptRate = 0.05;
    for (let i = 0; i < 200; i++) inner.h.onMessage(hb);
    const dropped = Object.values(t.stats.drops).reduce((a, b) => a + b, 0);
    expect(dropped).toBeGreaterThan(50);
    expect(ok + dropped).toBe(200);
  });
  it("delays by latency plus jitter, keeping order", () => {
    const { clock, inner, t } = faultyOverLoopback(mulberry32(3));
    const seqs: number[] = [];
    t.setHandlers({ onMessage: (m) => seqs.push(m.seq) });
    t.faults.latencyMs = 100;
    t.faults.jitterMs = 50;
    for (let i = 0; i < 20; i++) inner.h.onMessage({ v: 1, seq: i, type: "hb" });
    clock.advance(99);
    expect(seqs).toEqual([]);
    clock.advance(1000);
    expect(seqs).toEqual([...Array(20).keys()]);
  });
});

describe("rxErr in telemetry", () => {
  it("wraps at 2^32 like every 32-bit counter on the wire, so the frame stays valid", () => {
    const clock = new VirtualClock();
    const inner = new Loopback();
    const device = createSimDevice({ clock, transport: inner, link: new FaultyTransport(inner, clock, mulberry32(4)) });
    clock.advance(100);
    // 2^32 + 5 frames dropped since boot (days of line noise on a long-running device).
    inner.stats.drops.crc += 2 ** 32 + 5;
    clock.advance(300);
    const tlm = inner.sent.filter((m) => m.type === "tlm");
    const last = tlm.at(-1)!;
    expect(validate(last).ok).toBe(true);
    expect(last).toMatchObject({ rxErr: 5 });
    device.stop();
  });
});
