// Link loss: the firmware returns to upright on its own with the slow profile, whatever the companion does.
import { describe, expect, it } from "vitest";
import type { SimTruth } from "../index.js";
import { connect, moveTo, rig, type Rig } from "./harness.js";

function phases(samples: SimTruth[]): string[] {
  const out: string[] = [];
  for (const s of samples) if (s.ret && out.at(-1) !== s.ret) out.push(s.ret);
  return out;
}


function loseLink(r: Rig): number {
  r.client.stopHeartbeat();
  const t0 = r.clock.now();
  r.until(() => r.client.hasEvent("WATCHDOG"), 5000, "watchdog");
  return t0;
}

describe("watchdog", () => {
  it("runs the full slow return from head-down: descend, rest at 0, pause at -15, approach at <= 1 deg/s", () => {
    const r = rig();
    connect(r);
    moveTo(r, 40);
    const silentFrom = loseLink(r);
    const wd = r.client.events.find((e) => e.code === "WATCHDOG")!;
    expect(wd.severity).toBe("fault");
    const tWd = r.clock.now();
    expect(tWd - silentFrom).toBeGreaterThanOrEqual(1000 - 200);
    expect(tWd - silentFrom).toBeLessThanOrEqual(1000 + 20);
    expect(r.client.hasEvent("RETURN_STARTED")).toBe(true);
    r.until(() => r.client.hasEvent("RETURN_DONE"), 400_000, "return done");
    const ret = r.inv.between(tWd, r.clock.now());
    expect(phases(ret)).toEqual(["descend", "rest", "rise", "pause", "rise", "approach"]);

    const inPhase = (p: string) => ret.filter((s) => s.ret === p);
    const rest = inPhase("rest");
    expect((rest.at(-1)!.t - rest[0].t) / 1000).toBeCloseTo(60, 0);
    for (const s of rest) expect(Math.abs(s.tilt)).toBeLessThanOrEqual(0.05);
    const pause = inPhase("pause");
    expect((pause.at(-1)!.t - pause[0].t) / 1000).toBeCloseTo(10, 0);
    for (const s of pause) expect(Math.abs(s.tilt + 15)).toBeLessThanOrEqual(0.05);

    // Limited speed throughout; the last 10 degrees at no more than 1 deg/s, decelerating to rest.
    for (const s of ret) expect(Math.abs(s.vel)).toBeLessThanOrEqual(4 + 1e-9);
    expect(Math.max(...ret.map((s) => Math.abs(s.vel)))).toBeGreaterThan(3.9);
    for (const s of ret) if (s.tilt < -70 + 1e-9) expect(Math.abs(s.vel)).toBeLessThanOrEqual(1 + 1e-9);
    for (const s of ret) expect(Math.abs(s.accel)).toBeLessThanOrEqual(10 + 1e-9);
    const approach = inPhase("approach");
    expect(approach.length).toBeGreaterThan(900); // about 10 s at 1 deg/s
    const end = r.truth();
    expect(Math.abs(end.tilt + 80)).toBeLessThanOrEqual(0.2);
    expect(end.vel).toBe(0);
    expect(end.mode).toBe("idle");
    expect(end.faults).toEqual(["WATCHDOG"]);
    expect(r.inv.violations).toEqual([]);
    // It stays there: the firmware does nothing more on its own.
    r.clock.advance(30_000);
    expect(Math.abs(r.truth().tilt + 80)).toBeLessThanOrEqual(0.2);
    expect(r.inv.between(end.t + 1, r.clock.now()).every((s) => s.vel === 0)).toBe(true);
  });

  it("reports the fault in telemetry and needs a clear (after the link is back) before new motion", () => {
    const r = rig();
    connect(r);
    moveTo(r, 10);
    loseLink(r);
    r.until(() => r.client.hasEvent("RETURN_DONE"), 400_000, "return done");
    expect(r.client.tlm.at(-1)?.faults).toEqual(["WATCHDOG"]);
    r.client.heartbeat();
    r.clock.advance(300);
    expect(r.client.hasEvent("LINK_RESTORED")).toBe(true);
    const m = r.client.move(0, 5);
    expect(r.client.lastAck(m)).toMatchObject({ result: "rejected", reason: expect.stringMatching(/WATCHDOG latched/) });
    const c = r.client.id();
    r.client.send({ type: "clear", id: c, code: "WATCHDOG" });
    expect(r.client.lastAck(c)?.result).toBe("done");
    expect(r.client.hasEvent("FAULT_CLEARED")).toBe(true);
    r.clock.advance(200);
    expect(r.client.tlm.at(-1)?.faults).toEqual([]);
    const m2 = r.client.move(0, 5);
    expect(r.client.lastAck(m2)?.result).toBe("accepted");
  });

  it("answers motion commands with busy during the return, and stop too: the return goes on", () => {
    const r = rig();
    connect(r);
    moveTo(r, 30);
    loseLink(r);
    r.client.heartbeat();
    r.clock.advance(2000);
    expect(r.truth().mode).toBe("returning");
    const m = r.client.move(50, 5);
    expect(r.client.lastAck(m)?.result).toBe("busy");
    const l = r.client.id();
    r.client.send({ type: "limits", id: l, speedMax: 5 });
    expect(r.client.lastAck(l)?.result).toBe("busy");
    const c = r.client.id();
    r.client.send({ type: "clear", id: c, code: "WATCHDOG" });
    expect(r.client.lastAck(c)?.result).toBe("busy");
    expect(r.truth().faults).toEqual(["WATCHDOG"]);
    // WATCHDOG is latched: only this return brings the user back (PROTOCOL.md 9.3).
    const s = r.client.id();
    r.client.send({ type: "stop", id: s });
    expect(r.client.acksFor(s)).toEqual(["busy"]);
    r.clock.advance(5000);
    expect(r.truth().mode).toBe("returning");
    r.until(() => r.client.hasEvent("RETURN_DONE"), 400_000, "return done");
    expect(Math.abs(r.truth().tilt + 80)).toBeLessThanOrEqual(0.2);
  });

  it("returns from head-up angles without the rest, pausing only when above the pause angle", () => {
    const a = rig();
    connect(a);
    moveTo(a, -30);
    const t0 = loseLink(a);
    a.until(() => a.client.hasEvent("RETURN_DONE"), 200_000, "return");
    expect(phases(a.inv.between(t0, a.clock.now()))).toEqual(["rise", "approach"]);

    const b = rig();
    connect(b);
    moveTo(b, -5);
    const t1 = loseLink(b);
    b.until(() => b.client.hasEvent("RETURN_DONE"), 200_000, "return");
    expect(phases(b.inv.between(t1, b.clock.now()))).toEqual(["rise", "pause", "rise", "approach"]);
    expect(b.inv.violations).toEqual([]);
  });

  it("still rests when the link is lost near horizontal after time head-down (a pump's low end)", () => {
    for (const low of [0, -5]) {
      const r = rig();
      connect(r);
      moveTo(r, 40);
      r.clock.advance(30_000);
      moveTo(r, low);
      const t0 = loseLink(r);
      r.until(() => r.client.hasEvent("RETURN_DONE"), 400_000, "return");
      const ret = r.inv.between(t0, r.clock.now());
      expect(phases(ret)).toEqual(["rest", "rise", "pause", "rise", "approach"]);
      // Where it was: never back toward head-down to reach the rest angle.
      const rest = ret.filter((s) => s.ret === "rest");
      // 60 s of hold, after the brake and settle that precede any plan.
      expect((rest.at(-1)!.t - rest[0].t) / 1000).toBeGreaterThanOrEqual(60);
      expect((rest.at(-1)!.t - rest[0].t) / 1000).toBeLessThanOrEqual(61.5);
      for (const s of rest) expect(Math.abs(s.tilt - low)).toBeLessThanOrEqual(0.1);
      expect(Math.max(...ret.map((s) => s.tilt))).toBeLessThanOrEqual(low + 0.1);
      expect(r.inv.violations).toEqual([]);
    }
  });

  it("owes no rest to a user who was never head-down, and none after coming back upright", () => {
    const a = rig();
    connect(a);
    moveTo(a, 0);
    const t0 = loseLink(a);
    a.until(() => a.client.hasEvent("RETURN_DONE"), 200_000, "return");
    expect(phases(a.inv.between(t0, a.clock.now()))).toEqual(["rise", "pause", "rise", "approach"]);

    const b = rig();
    connect(b);
    moveTo(b, 40);
    moveTo(b, -79);
    moveTo(b, 0);
    const t1 = loseLink(b);
    b.until(() => b.client.hasEvent("RETURN_DONE"), 200_000, "return");
    expect(phases(b.inv.between(t1, b.clock.now()))).toEqual(["rise", "pause", "rise", "approach"]);
  });

  it("does nothing but report when the link drops while idle upright", () => {
    const r = rig();
    connect(r);
    loseLink(r);
    r.clock.advance(10_000);
    expect(r.client.hasEvent("RETURN_STARTED")).toBe(false);
    expect(r.inv.maxSpeed).toBe(0);
    expect(r.truth().faults).toEqual(["WATCHDOG"]);
  });

  it("keeps the user safe through a link that drops for a while mid-move (injected)", () => {
    const r = rig();
    connect(r);
    r.client.move(60, 10);
    r.device.inject.dropLink(3000, { at: r.clock.now() + 3000 });
    r.clock.advance(8000);
    expect(r.client.hasEvent("LINK_RESTORED")).toBe(true);
    expect(r.truth().mode).toBe("returning");
    expect(r.truth().faults).toContain("WATCHDOG");
    expect(r.inv.violations).toEqual([]);
  });

  it("counts corrupted frames in rxErr, and returns when nothing valid gets through (injected corruption)", () => {
    const r = rig();
    connect(r);
    moveTo(r, 20);
    r.device.inject.corrupt(0.002, { durationMs: 20_000 });
    r.clock.advance(20_000);
    const t = r.client.tlm.at(-1)!;
    expect(t.rxErr).toBeGreaterThan(0);
    expect(r.client.hasEvent("WATCHDOG")).toBe(false);
    r.device.inject.corrupt(0.5, { durationMs: 3000 });
    r.clock.advance(3000);
    expect(r.truth().faults).toContain("WATCHDOG");
    expect(r.truth().mode).toBe("returning");
    expect(r.inv.violations).toEqual([]);
  });

  it("tolerates latency and jitter below the watchdog period (injected)", () => {
    const r = rig();
    connect(r);
    r.device.inject.latency(300, 200);
    moveTo(r, 10);
    r.clock.advance(10_000);
    expect(r.client.hasEvent("WATCHDOG")).toBe(false);
    expect(Math.abs(r.truth().tilt - 10)).toBeLessThanOrEqual(0.2);
  });
});
