// A companion's `stop` never cancels a return the firmware runs for a latched fault (PROTOCOL.md 9.3):
// that return is all that brings the user back, so it runs to upright whatever the companion sends. Only
// a return the companion asked for, with no fault latched, is the companion's to stop.
import { describe, expect, it } from "vitest";
import type { SimTruth } from "../index.js";
import { connect, moveTo, rig, untilEvent, type Rig } from "./harness.js";

const QUICK = { maxInvertedS: 30, tilt: { restS: 5, pauseS: 2 } };

function phases(samples: SimTruth[]): string[] {
  const out: string[] = [];
  for (const s of samples) if (s.ret && out.at(-1) !== s.ret) out.push(s.ret);
  return out;
}

/** Head-down at 30° until MAX_TIME_INVERTED starts the return; returns when it tripped. */
function overstay(r: Rig): number {
  connect(r);
  moveTo(r, 30);
  const t = untilEvent(r, "MAX_TIME_INVERTED", 60_000);
  expect(r.truth().mode).toBe("returning");
  return t;
}

function stop(r: Rig): string {
  const id = r.client.id();
  r.client.send({ type: "stop", id });
  return id;
}

describe("stop during the firmware's return", () => {
  it("after MAX_TIME_INVERTED: answered busy, and the return runs to upright as if no stop had come", () => {
    // The same device, the same seed: once left alone, once sent `stop` every half second.
    const alone = rig(QUICK);
    const t0 = overstay(alone);
    alone.until(() => alone.client.hasEvent("RETURN_DONE"), 400_000, "return");
    const aloneS = alone.clock.now() - t0;

    const r = rig(QUICK);
    expect(overstay(r)).toBe(t0);
    const ids: string[] = [];
    const every = r.clock.setInterval(() => ids.push(stop(r)), 500);
    r.until(() => r.client.hasEvent("RETURN_DONE"), 400_000, "return");
    r.clock.clearInterval(every);

    expect(ids.length).toBeGreaterThan(50);
    for (const id of ids) {
      expect(r.client.acksFor(id)).toEqual(["busy"]);
      expect(r.client.lastAck(id)?.reason).toMatch(/^returning to upright \(MAX_TIME_INVERTED\): fault MAX_TIME_INVERTED latched/);
    }
    expect(r.clock.now() - t0).toBe(aloneS);
    const ret = r.inv.between(t0, r.clock.now());
    expect(phases(ret)).toEqual(["descend", "rest", "rise", "pause", "rise", "approach"]);
    expect(ret.every((s) => s.mode === "returning" || s === ret.at(-1))).toBe(true);
    expect(Math.abs(r.truth().tilt + 80)).toBeLessThanOrEqual(0.2);
    expect(r.inv.violations).toEqual([]);
  });

  it("after the watchdog, with the link back: busy, the return goes on", () => {
    const r = rig(QUICK);
    connect(r);
    moveTo(r, 30);
    r.client.stopHeartbeat();
    untilEvent(r, "WATCHDOG");
    r.client.heartbeat();
    r.clock.advance(2000);
    expect(r.client.hasEvent("LINK_RESTORED")).toBe(true);
    const s = stop(r);
    expect(r.client.acksFor(s)).toEqual(["busy"]);
    r.clock.advance(3000);
    expect(r.truth().mode).toBe("returning");
    r.until(() => r.client.hasEvent("RETURN_DONE"), 400_000, "return");
    expect(Math.abs(r.truth().tilt + 80)).toBeLessThanOrEqual(0.2);
    expect(r.client.acksFor(s)).toEqual(["busy"]);
  });

  it("after the patient stop switch, pressed and released: busy, the return goes on", () => {
    const r = rig(QUICK);
    connect(r);
    moveTo(r, 30);
    r.device.inject.pressStopSwitch({ durationMs: 300 });
    untilEvent(r, "STOP_SWITCH");
    r.clock.advance(1000);
    expect(r.truth().sw).toBe("ok");
    const s = stop(r);
    expect(r.client.acksFor(s)).toEqual(["busy"]);
    r.until(() => r.client.hasEvent("RETURN_DONE"), 400_000, "return");
    expect(Math.abs(r.truth().tilt + 80)).toBeLessThanOrEqual(0.2);
  });

  it("a requested return that a fault joins is no longer the companion's to stop", () => {
    const r = rig(QUICK);
    connect(r);
    moveTo(r, 30);
    // Asked for 4 s before the cap: the descent (7.5 s at 4°/s) is still head-down when it runs out.
    const headDownFrom = r.inv.samples.find((s) => s.tilt > 0)!.t;
    r.clock.advance(headDownFrom + 26_000 - r.clock.now());
    const ret = r.client.id();
    r.client.send({ type: "return", id: ret });
    untilEvent(r, "MAX_TIME_INVERTED", 10_000);
    expect(r.truth().mode).toBe("returning");
    const s = stop(r);
    expect(r.client.acksFor(s)).toEqual(["busy"]);
    r.until(() => r.client.hasEvent("RETURN_DONE"), 400_000, "return");
    expect(r.client.acksFor(ret)).toEqual(["accepted", "done"]);
  });

  it("the stop switch during such a return brakes it at most: the return then resumes to upright", () => {
    const r = rig(QUICK);
    const t0 = overstay(r);
    r.until(() => r.truth().ret === "descend" && Math.abs(r.truth().vel) > 3, 10_000, "descending");
    r.device.inject.pressStopSwitch({ durationMs: 300 });
    const tPress = untilEvent(r, "STOP_SWITCH");
    r.until(() => r.client.hasEvent("RETURN_DONE"), 400_000, "return");
    const braked = r.inv.between(tPress, tPress + 500);
    expect(braked.some((s) => s.vel === 0)).toBe(true);
    expect(phases(r.inv.between(tPress, r.clock.now()))).toEqual(["descend", "rest", "rise", "pause", "rise", "approach"]);
    const back = r.inv.between(t0, r.clock.now());
    expect(back.every((s) => s.mode === "returning" || s === back.at(-1))).toBe(true);
    expect(Math.abs(r.truth().tilt + 80)).toBeLessThanOrEqual(0.2);
    expect(r.inv.violations).toEqual([]);
  });

  it("a return the companion asked for, with no fault latched, is still the companion's to stop", () => {
    const r = rig(QUICK);
    connect(r);
    moveTo(r, 30);
    const ret = r.client.id();
    r.client.send({ type: "return", id: ret });
    r.clock.advance(3000);
    expect(r.truth().mode).toBe("returning");
    expect(r.truth().faults).toEqual([]);
    const s = stop(r);
    expect(r.client.lastAck(s)?.result).toBe("accepted");
    r.until(() => r.client.acksFor(s).includes("done"), 5000, "stopped");
    expect(r.client.lastAck(ret)).toMatchObject({ result: "failed", reason: "stopped" });
    r.clock.advance(2000);
    expect(r.truth().mode).toBe("holding");
    expect(r.truth().vel).toBe(0);
  });
});
