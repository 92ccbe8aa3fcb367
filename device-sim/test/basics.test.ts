// Handshake, telemetry, moves, limits and idempotent ids, checked on the wire and against ground truth.
import { describe, expect, it } from "vitest";
import { Caps, Telemetry } from "../../protocol/index.js";
import { connect, rig } from "./harness.js";

describe("handshake and telemetry", () => {
  it("sends caps unsolicited at boot and again after hello, with the same boot id", () => {
    const r = rig();
    r.clock.advance(50);
    expect(r.client.caps).toHaveLength(1);
    expect(r.client.events.map((e) => e.code)).toEqual(["BOOT"]);
    const caps = connect(r);
    expect(Caps.safeParse(caps).success).toBe(true);
    expect(caps.proto).toBe(1);
    expect(caps.boot).toBe(r.client.caps[0].boot);
    expect(caps.axes.tilt).toMatchObject({ min: -80, max: 90, upright: -80, speedMax: 10, returnSpeed: 4 });
    expect(caps.axes.traction).toBeUndefined();
    expect(caps.watchdogMs).toBe(1000);
    expect(caps.tlmHz).toBe(10);
  });

  it("answers a peer without protocol 1 with caps all the same, so it can see the mismatch", () => {
    const r = rig();
    r.clock.advance(20);
    r.client.send({ type: "hello", client: "future", proto: [2, 3] });
    expect(r.client.caps.at(-1)?.proto).toBe(1);
    expect(r.client.caps).toHaveLength(2);
  });

  it("advertises both axes on a combo and only traction on a stretcher", () => {
    const combo = rig({ model: "combo" });
    const c = connect(combo);
    expect(Object.keys(c.axes).sort()).toEqual(["tilt", "traction"]);
    const st = rig({ model: "stretcher" });
    expect(Object.keys(connect(st).axes)).toEqual(["traction"]);
  });

  it("streams schema-valid telemetry at the advertised rate", () => {
    const r = rig({ tlmHz: 20 });
    connect(r);
    const n0 = r.client.tlm.length;
    r.clock.advance(10_000);
    const got = r.client.tlm.slice(n0);
    expect(got.length).toBeGreaterThanOrEqual(199);
    expect(got.length).toBeLessThanOrEqual(201);
    for (const t of got) expect(Telemetry.safeParse(t).success).toBe(true);
    const gaps = got.slice(1).map((t, i) => t.t - got[i].t);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(50);
    expect(got.at(-1)).toMatchObject({ mode: "idle", sw: "ok", lock: true, faults: [], rxErr: 0 });
  });

  it("keeps telemetry schema-valid while a failed sensor reads beyond the wire ranges", () => {
    // Otherwise the companion drops every sample exactly when a fault needs showing, and sees a lost link.
    const r = rig({ model: "combo" });
    connect(r);
    r.device.inject.sensorDrift("inclinometer", 50);
    r.device.inject.overcurrent(150);
    r.device.inject.externalForce(20_000);
    r.clock.advance(10_000);
    const n0 = r.client.tlm.length;
    r.clock.advance(2_000);
    expect(r.client.t.stats.drops.schema).toBe(0);
    const got = r.client.tlm.slice(n0);
    expect(got.length).toBeGreaterThanOrEqual(19);
    expect(got.at(-1)).toMatchObject({ tilt2: 360, current: 100, force: 10_000 });
    expect(got.at(-1)?.faults).toEqual(expect.arrayContaining(["SENSOR_MISMATCH", "OVERCURRENT", "OVERFORCE"]));
  });
});

describe("moves", () => {
  it("executes a move with accepted then done, never faster than commanded nor harder than accelMax", () => {
    const r = rig();
    connect(r);
    r.clock.advance(1000);
    const id = r.client.move(30, 6);
    expect(r.client.acksFor(id)).toEqual(["accepted"]);
    const t0 = r.clock.now();
    r.until(() => r.client.acksFor(id).includes("done"), 60_000, "done");
    expect(r.client.acksFor(id)).toEqual(["accepted", "done"]);
    expect(Math.abs(r.truth().tilt - 30)).toBeLessThanOrEqual(0.2);
    expect(r.truth().vel).toBe(0);
    const during = r.inv.between(t0, r.clock.now());
    expect(Math.max(...during.map((s) => Math.abs(s.vel)))).toBeLessThanOrEqual(6 + 1e-9);
    expect(Math.max(...during.map((s) => Math.abs(s.accel)))).toBeLessThanOrEqual(10 + 1e-9);
    // Trapezoid: it does reach the commanded speed on a long move, and takes about d/v + v/a.
    expect(r.inv.maxSpeed).toBeGreaterThan(5.99);
    expect((r.clock.now() - t0) / 1000).toBeCloseTo(110 / 6 + 0.6, 0);
    expect(r.truth().mode).toBe("holding");
    expect(r.inv.violations).toEqual([]);
  });

  it("changes target mid-move without a speed step", () => {
    const r = rig();
    connect(r);
    r.client.move(40, 10);
    r.clock.advance(5000);
    const id2 = r.client.move(-20, 8);
    r.until(() => r.client.acksFor(id2).includes("done"), 60_000, "done");
    expect(Math.abs(r.truth().tilt + 20)).toBeLessThanOrEqual(0.2);
    expect(r.inv.maxAccel).toBeLessThanOrEqual(10 + 1e-9);
    expect(r.inv.violations).toEqual([]);
  });

  it("rejects moves outside the hard limits or above hard speed, naming the field, and never moves", () => {
    const r = rig();
    connect(r);
    const a = r.client.move(95, 5);
    const b = r.client.move(-85, 5);
    const c = r.client.move(10, 12);
    r.clock.advance(2000);
    expect(r.client.lastAck(a)).toMatchObject({ result: "rejected", reason: expect.stringMatching(/target 95 outside hard limits/) });
    expect(r.client.lastAck(b)?.result).toBe("rejected");
    expect(r.client.lastAck(c)).toMatchObject({ result: "rejected", reason: expect.stringMatching(/speed 12 > hard speedMax 10/) });
    expect(r.inv.maxSpeed).toBe(0);
    expect(r.device.actedCommands()).toBe(0);
  });

  it("applies soft limits inside the hard ones and refuses soft limits outside them", () => {
    const r = rig();
    connect(r);
    const bad = r.client.id();
    r.client.send({ type: "limits", id: bad, tiltMax: 95 });
    const bad2 = r.client.id();
    r.client.send({ type: "limits", id: bad2, tiltMin: 20, tiltMax: 10 });
    const ok = r.client.id();
    r.client.send({ type: "limits", id: ok, tiltMax: 30, speedMax: 5 });
    expect(r.client.lastAck(bad)).toMatchObject({ result: "rejected", reason: expect.stringMatching(/tiltMax 95 outside hard limits/) });
    expect(r.client.lastAck(bad2)?.reason).toMatch(/tiltMin 20 must be < tiltMax 10/);
    expect(r.client.lastAck(ok)?.result).toBe("done");
    const m1 = r.client.move(45, 5);
    const m2 = r.client.move(20, 8);
    expect(r.client.lastAck(m1)?.reason).toMatch(/outside soft limits \[-80, 30\]/);
    expect(r.client.lastAck(m2)?.reason).toMatch(/speed 8 > soft speedMax 5/);
    const m3 = r.client.move(30, 5);
    r.until(() => r.client.acksFor(m3).includes("done"), 60_000, "done");
    expect(r.inv.maxTilt).toBeLessThanOrEqual(30 + 1e-6);
    expect(r.inv.maxSpeed).toBeLessThanOrEqual(5 + 1e-9);
  });

  it("shortens an ack's reason until the frame fits the line bound, also when acking a retry", () => {
    // Ids may hold any characters; control characters take 6 bytes each once JSON-escaped, so a reason
    // naming another such id would push the ack past 512 bytes and the companion would never see it.
    const r = rig();
    connect(r);
    const a = r.client.move(10, 5, "\u0001".repeat(39) + "a");
    const b = r.client.move(12, 5, "\u0001".repeat(39) + "b");
    r.client.move(10, 5, a);
    expect(r.client.t.stats.drops.overlong).toBe(0);
    expect(r.client.acksFor(a)).toEqual(["accepted", "failed", "failed"]);
    expect(r.client.lastAck(a)?.reason).toMatch(/^superseded by /);
    expect(r.client.acksFor(b)).toEqual(["accepted"]);
  });

  it("acknowledges a repeated id with the same result and never acts twice", () => {
    const r = rig();
    connect(r);
    const id = r.client.move(10, 5);
    r.client.move(10, 5, id);
    expect(r.client.acksFor(id)).toEqual(["accepted", "accepted"]);
    expect(r.device.actedCommands()).toBe(1);
    r.until(() => r.client.acksFor(id).includes("done"), 60_000, "done");
    // A late retry of the finished command gets "done" again and does not restart anything.
    r.client.move(10, 5, id);
    expect(r.client.acksFor(id)).toEqual(["accepted", "accepted", "done", "done"]);
    expect(r.device.actedCommands()).toBe(1);
    const rej = r.client.move(99, 5);
    r.client.move(99, 5, rej);
    expect(r.client.acksFor(rej)).toEqual(["rejected", "rejected"]);
  });

  it("forgets the oldest ids beyond the bounded cache", () => {
    const r = rig({ idCacheSize: 8 });
    connect(r);
    for (let i = 0; i < 9; i++) r.client.send({ type: "limits", id: `L${i}`, speedMax: 9 });
    expect(r.device.actedCommands()).toBe(9);
    r.client.send({ type: "limits", id: "L8", speedMax: 9 });
    expect(r.device.actedCommands()).toBe(9);
    r.client.send({ type: "limits", id: "L0", speedMax: 9 });
    expect(r.device.actedCommands()).toBe(10);
  });

  it("stops with a controlled deceleration on stop, then holds", () => {
    const r = rig();
    connect(r);
    const m = r.client.move(60, 10);
    r.clock.advance(6000);
    const s = r.client.id();
    r.client.send({ type: "stop", id: s });
    expect(r.truth().mode).toBe("stopping");
    r.until(() => r.client.acksFor(s).includes("done"), 5000, "stopped");
    expect(r.client.lastAck(m)).toMatchObject({ result: "failed", reason: "stopped" });
    r.clock.advance(2000);
    expect(r.truth().vel).toBe(0);
    expect(r.truth().mode).toBe("holding");
    expect(r.inv.maxAccel).toBeLessThanOrEqual(10 + 1e-9);
  });
});
