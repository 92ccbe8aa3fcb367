// Several bridge processes' worth of controllers sharing requests through a mosquitto shared
// subscription: every request reaches the device's owner exactly once, wherever the broker delivers it.
// (aedes 1.2 does not deliver $share subscriptions at all, so this runs on mosquitto only.)
import { afterEach, beforeEach, expect, it } from "vitest";
import { RealClock, VirtualClock, type Clock } from "../../protocol/index.js";
import { startBridge, type Bridge } from "../../src/bridge/bridge.js";
import { loadBridgeConfig } from "../../src/bridge/config.js";
import type { DeviceState } from "../../src/bridge/device.js";
import { signCommand } from "../../src/bridge/signing.js";
import { startMosquitto, type MosquittoBroker } from "../helpers/mosquitto.js";
import { describeIfTool } from "../helpers/real-io.js";
import { FakeDevice, Observer } from "./helpers.js";

const KEY_HEX = "22".repeat(32);
const KEY = Buffer.from(KEY_HEX, "hex");

describeIfTool(["mosquitto"], "bridges sharing work on mosquitto ($share)", () => {
  let broker: MosquittoBroker;
  let obs: Observer;
  const bridges: Bridge[] = [];
  const devices = new Map<string, FakeDevice[]>();

  async function start(bridgeId: string, ids: string[], o: { clock?: Clock; link?: DeviceState["link"]; homeassistant?: boolean } = {}) {
    const config = loadBridgeConfig({
      mqtt: broker.url, bridgeId, group: "clinic", homeassistant: o.homeassistant,
      device: ids.map((id) => `mqtt://127.0.0.1:1/${id}`),
      deviceKey: ids.map((id) => `${id}=${KEY_HEX}`),
    });
    const b = await startBridge({
      config, clock: o.clock ?? new RealClock(), programNames: ["beginner"], version: "test", log: (l, m) => { if (process.env.DBG) console.error(bridgeId, l, m); },
      createDevice: (d) => {
        const f = new FakeDevice(d.id);
        if (o.link) f.st = { ...f.st, link: o.link };
        devices.set(d.id, [...(devices.get(d.id) ?? []), f]);
        return f;
      },
    });
    bridges.push(b);
    return b;
  }

  beforeEach(async () => {
    broker = await startMosquitto();
    obs = await Observer.connect(broker.url, ["invert/#"]);
    devices.clear();
  });
  afterEach(async () => {
    for (const b of bridges.splice(0)) await b.stop();
    await obs.close();
    await broker.stop();
  });

  it("routes every request to the owning bridge exactly once", async () => {
    await start("b1", ["t1", "t2"]);
    await start("b2", ["t3", "t4"]);
    // Wait until both have seen each other's claims (retained info + online state).
    await obs.waitTopic("invert/bridge/b1/info");
    await obs.waitTopic("invert/bridge/b2/info");
    await obs.waitTopic("invert/bridge/b1/state", (v) => v.state === "online");
    await obs.waitTopic("invert/bridge/b2/state", (v) => v.state === "online");
    const ids = ["t1", "t2", "t3", "t4"];
    // Enough requests per device that the broker's round robin hands some to the non-owner.
    for (let round = 0; round < 6; round++) {
      await Promise.all(ids.map(async (id) => {
        const tx = `${id}-${round}`;
        const body = signCommand({ transaction: tx, program: "beginner" }, KEY, Date.now(), { deviceId: id, action: "start" });
        expect(await obs.request("invert", id, "start", body)).toEqual({ transaction: tx, status: "ok" });
        expect(await obs.request("invert", id, "pause", { transaction: `p${tx}` })).toEqual({ transaction: `p${tx}`, status: "ok" });
      }));
    }
    for (const id of ids) {
      expect(devices.get(id)).toHaveLength(1);
      expect(devices.get(id)![0].calls.filter((c) => c.startsWith("start"))).toHaveLength(6);
      expect(devices.get(id)![0].calls.filter((c) => c === "pause")).toHaveLength(6);
    }
    // Exactly one response per request, whichever bridge received it first.
    expect(obs.count((m) => m.topic.endsWith("/response/start"))).toBe(24);
    expect(obs.count((m) => m.topic.startsWith("invert/bridge/") && m.topic.includes("/forward/"))).toBeGreaterThan(0);

    // A duplicate transaction still runs once, even when the copies land on different bridges.
    const dup = signCommand({ transaction: "dup", program: "beginner" }, KEY, Date.now(), { deviceId: "t3", action: "start" });
    const before = devices.get("t3")![0].calls.length;
    for (let i = 0; i < 4; i++) expect(await obs.request("invert", "t3", "start", dup)).toMatchObject({ transaction: "dup", status: "ok" });
    expect(devices.get("t3")![0].calls.length - before).toBe(1);

    // A device nobody serves gets one error answer.
    const from = obs.seen.length;
    expect(await obs.request("invert", "t9", "stop", { transaction: "x" })).toMatchObject({ status: "error", reason: expect.stringMatching(/unknown device "t9"/) });
    await obs.request("invert", "t1", "stop", { transaction: "fence" });
    expect(obs.seen.slice(from).filter((m) => m.topic === "invert/t9/response/stop")).toHaveLength(1);
  });

  it("lets exactly one bridge drive a device claimed twice", async () => {
    const b1 = await start("b7", ["t1"]);
    await obs.waitTopic("invert/bridge/b7/info");
    // The newcomer has the smaller id, but the older claim wins: no running session is taken over.
    const b3 = await start("b3", ["t1", "t5"]);
    // b3 sees b1's older claim and releases t1: t1 has one driver.
    await obs.waitTopic("invert/bridge/b3/info", (v) => JSON.stringify(v.devices) === '["t5"]');
    expect(b3.served()).toEqual(["t5"]);
    expect(b1.served()).toEqual(["t1"]);
    expect(devices.get("t1")![1].calls).toContain("close");
    const body = signCommand({ transaction: "one", program: "beginner" }, KEY, Date.now(), { deviceId: "t1", action: "start" });
    expect(await obs.request("invert", "t1", "start", body)).toMatchObject({ status: "ok" });
    expect(devices.get("t1")![0].calls).toEqual(["start:beginner"]);
  });

  /** Resolves once the bridges have handled every request published before it (one publisher keeps order). */
  const fence = async (tx: string) => expect(await obs.request("invert", "nobody", "pause", { transaction: tx })).toMatchObject({ status: "error" });

  it("a newcomer holds motion requests until its claims settle, then hands them to an older owner", async () => {
    const clock = new VirtualClock();
    const b3 = await start("b3", ["t1"], { clock });
    await obs.waitTopic("invert/bridge/b3/info");
    // A start for t1 reaches the newcomer before the older owner's claim has (a slow retained delivery).
    const body = signCommand({ transaction: "early", program: "beginner" }, KEY, Date.now(), { deviceId: "t1", action: "start" });
    await obs.client.publishAsync("invert/t1/request/start", JSON.stringify(body), { qos: 1 });
    await obs.client.publishAsync("invert/t1/request/pause", JSON.stringify({ transaction: "early-p" }), { qos: 1 });
    await fence("f1");
    expect(devices.get("t1")![0].calls).toEqual([]);
    const from = obs.seen.length;
    const peer = { bridgeId: "b7", run: "r1", since: Date.now() - 60_000 };
    await obs.client.publishAsync("invert/bridge/b7/state", JSON.stringify({ state: "online" }), { qos: 1, retain: true });
    await obs.client.publishAsync("invert/bridge/b7/info", JSON.stringify({ ...peer, devices: ["t1"] }), { qos: 1, retain: true });
    await obs.waitTopic("invert/bridge/b3/info", (v) => JSON.stringify(v.devices) === "[]", 5000, from);
    clock.advance(2000);
    // Both held requests go to the owner; the newcomer never ran them.
    const fwd = await obs.wait((m) => m.topic === "invert/bridge/b7/forward/t1/start", "start forwarded to b7", 5000, from);
    expect(JSON.parse(fwd.text)).toMatchObject({ transaction: "early" });
    await obs.wait((m) => m.topic === "invert/bridge/b7/forward/t1/pause", "pause forwarded to b7", 5000, from);
    expect(devices.get("t1")![0].calls).toEqual(["close"]);
    expect(b3.served()).toEqual([]);
    await obs.client.publishAsync("invert/bridge/b7/state", "", { qos: 1, retain: true });
    await obs.client.publishAsync("invert/bridge/b7/info", "", { qos: 1, retain: true });
  });

  it("a newcomer runs the requests it held once no older bridge claims the device", async () => {
    const clock = new VirtualClock();
    await start("b3", ["t1"], { clock });
    await obs.waitTopic("invert/bridge/b3/info");
    const body = signCommand({ transaction: "held", program: "beginner" }, KEY, Date.now(), { deviceId: "t1", action: "start" });
    const answer = obs.request("invert", "t1", "start", body);
    await fence("f2");
    expect(devices.get("t1")![0].calls).toEqual([]);
    clock.advance(2000);
    expect(await answer).toEqual({ transaction: "held", status: "ok" });
    expect(devices.get("t1")![0].calls).toEqual(["start:beginner"]);
  });

  it("a stop during a newcomer's claim grace acts at once and cancels the start it held", async () => {
    const clock = new VirtualClock();
    await start("b3", ["t1"], { clock });
    await obs.waitTopic("invert/bridge/b3/info");
    const body = signCommand({ transaction: "held", program: "beginner" }, KEY, Date.now(), { deviceId: "t1", action: "start" });
    const answer = obs.request("invert", "t1", "start", body);
    expect(await obs.request("invert", "t1", "stop", { transaction: "s" })).toMatchObject({ status: "ok" });
    expect(await answer).toMatchObject({ transaction: "held", status: "error", reason: "cancelled by stop before it ran" });
    clock.advance(2000);
    await fence("f3");
    expect(devices.get("t1")![0].calls).toEqual(["stop"]);
  });

  it("a bridge that gives up a doubly-claimed device never touches its owner's retained topics", async () => {
    // Virtual clocks: each bridge publishes its devices' topics only once its claim grace has passed.
    await obs.client.subscribeAsync("homeassistant/#", { qos: 1 });
    const ownerClock = new VirtualClock();
    await start("b7", ["t1"], { clock: ownerClock, homeassistant: true });
    await obs.waitTopic("invert/bridge/b7/info");
    ownerClock.advance(2000);
    await obs.waitTopic("invert/t1/availability", (v) => v.state === "online");
    await obs.waitTopic("homeassistant/sensor/t1/phase/config");
    const from = obs.seen.length;
    // Misconfiguration: a second process also lists t1; its link is still connecting, as a real one starts.
    const newClock = new VirtualClock();
    const b3 = await start("b3", ["t1", "t5"], { clock: newClock, homeassistant: true, link: "connecting" });
    await obs.waitTopic("invert/bridge/b3/info", (v) => JSON.stringify(v.devices) === '["t5"]', 5000, from);
    newClock.advance(2000);
    await obs.waitTopic("invert/t5/availability", () => true, 5000, from);
    expect(b3.served()).toEqual(["t5"]);
    expect(obs.seen.slice(from).filter((m) => m.topic === "invert/t1/availability" && m.text.includes("offline"))).toEqual([]);
    expect(obs.seen.slice(from).filter((m) => m.topic.startsWith("homeassistant/") && m.topic.includes("/t1/") && m.text.includes("invert/bridge/b3/state"))).toEqual([]);
    const late = await Observer.connect(broker.url, ["invert/t1/availability", "homeassistant/sensor/t1/phase/config"]);
    expect(await late.waitTopic("invert/t1/availability")).toEqual({ state: "online" });
    const disc = await late.waitTopic("homeassistant/sensor/t1/phase/config");
    expect(JSON.stringify(disc.availability)).toContain("invert/bridge/b7/state");
    await late.close();
  });

  it("puts back a device's retained topics that a peer overwrote before giving the device up", async () => {
    const clock = new VirtualClock();
    await start("b7", ["t1"], { clock });
    clock.advance(2000);
    await obs.waitTopic("invert/t1/availability", (v) => v.state === "online");
    // A peer that does not hold back (an older version): claims t1, overwrites its availability, gives it up.
    const peer = { bridgeId: "b3", run: "r1", since: Date.now() + 1000 };
    await obs.client.publishAsync("invert/bridge/b3/state", JSON.stringify({ state: "online" }), { qos: 1, retain: true });
    await obs.client.publishAsync("invert/bridge/b3/info", JSON.stringify({ ...peer, devices: ["t1"] }), { qos: 1, retain: true });
    await obs.client.publishAsync("invert/t1/availability", JSON.stringify({ state: "offline" }), { qos: 1, retain: true });
    const from = obs.seen.length;
    await obs.client.publishAsync("invert/bridge/b3/info", JSON.stringify({ ...peer, devices: [] }), { qos: 1, retain: true });
    await obs.waitTopic("invert/t1/availability", (v) => v.state === "online", 5000, from);
    const late = await Observer.connect(broker.url, ["invert/t1/availability"]);
    expect(await late.waitTopic("invert/t1/availability")).toEqual({ state: "online" });
    await late.close();
    await obs.client.publishAsync("invert/bridge/b3/state", "", { qos: 1, retain: true });
    await obs.client.publishAsync("invert/bridge/b3/info", "", { qos: 1, retain: true });
  });

  it("does not clear a device that moved to another bridge when its old bridge restarts without it", async () => {
    const first = await start("b1", ["t1", "t2"]);
    await obs.waitTopic("invert/t2/state");
    await first.stop();
    bridges.splice(bridges.indexOf(first), 1);
    await start("b2", ["t2"]);
    await obs.waitTopic("invert/bridge/b2/info", (v) => JSON.stringify(v.devices) === '["t2"]');
    const from = obs.seen.length;
    await start("b1", ["t1"]);
    // b1 drops t1's partner t2 from its list; t2 is b2's now, so nothing of t2 is cleared.
    await obs.waitTopic("invert/bridge/b1/info", (v) => JSON.stringify(v.devices) === '["t1"]', 5000, from);
    // A device nobody serves any more is cleared after the grace period: use that as the fence.
    const gone = await start("b3", ["t9"]);
    await obs.waitTopic("invert/t9/state");
    await gone.stop();
    bridges.splice(bridges.indexOf(gone), 1);
    const fence = obs.seen.length;
    await start("b3", ["t8"]);
    await obs.wait((m) => m.topic === "invert/t9/state" && m.text === "", "t9 cleared", 10_000, fence);
    expect(obs.seen.slice(from).filter((m) => m.topic.startsWith("invert/t2/") && m.text === "").map((m) => m.topic), JSON.stringify(obs.seen.slice(from).map((m) => `${m.topic}=${m.text.slice(0, 60)}`))).toEqual([]);
  });
});
