// The bridge's MQTT side against an in-process aedes broker, with recording device doubles: retained
// state and availability, request/response with transaction ids, signing, dedup, discovery, removal.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RealClock } from "../../protocol/index.js";
import { startBridge, type Bridge } from "../../src/bridge/bridge.js";
import { loadBridgeConfig } from "../../src/bridge/config.js";
import { signCommand } from "../../src/bridge/signing.js";
import { startAedes, type AedesBroker } from "../helpers/aedes.js";
import { FakeDevice, Observer } from "./helpers.js";

const KEY_HEX = "11".repeat(32);
const KEY = Buffer.from(KEY_HEX, "hex");

let broker: AedesBroker;
let obs: Observer;
let bridge: Bridge | undefined;
let devices: Map<string, FakeDevice>;
const logs: string[] = [];

async function start(extra: Partial<Parameters<typeof loadBridgeConfig>[0]> = {}, ids = ["t1", "t2"]) {
  const config = loadBridgeConfig({
    mqtt: broker.url,
    device: ids.map((id) => `mqtt://127.0.0.1:1/${id}`),
    deviceKey: [`t1=${KEY_HEX}`],
    bridgeId: "b1",
    ...extra,
  });
  bridge = await startBridge({
    config,
    clock: new RealClock(),
    createDevice: (d) => {
      const f = new FakeDevice(d.id);
      devices.set(d.id, f);
      return f;
    },
    programNames: ["beginner", "oscillation-60"],
    version: "test",
    log: (level, msg) => logs.push(`${level} ${msg}`),
  });
  return bridge;
}

beforeEach(async () => {
  broker = await startAedes();
  obs = await Observer.connect(broker.url, ["invert/#", "homeassistant/#"]);
  devices = new Map();
  logs.length = 0;
});

afterEach(async () => {
  await bridge?.stop();
  bridge = undefined;
  await obs.close();
  await broker.close();
});

const signedStart = (body: Record<string, unknown>, id = "t1", now = Date.now()) => signCommand(body, KEY, now, { deviceId: id, action: "start" });

describe("bridge over aedes", () => {
  it("publishes retained bridge availability, device availability and state", async () => {
    await start();
    await obs.waitTopic("invert/bridge/state", (v) => v.state === "online");
    await obs.waitTopic("invert/t1/availability", (v) => v.state === "online");
    const st = await obs.waitTopic("invert/t2/state");
    expect(st).toMatchObject({ link: "online", phase: "ready", angle: -80, ankle_lock: true, stop_switch: "ok" });
    // A late subscriber gets the retained copies.
    const late = await Observer.connect(broker.url, ["invert/bridge/state", "invert/t1/state"]);
    const m = await late.wait((x) => x.topic === "invert/t1/state", "retained state");
    expect(m.retain).toBe(true);
    expect((await late.wait((x) => x.topic === "invert/bridge/state", "retained availability")).retain).toBe(true);
    await late.close();
  });

  it("follows link changes on the availability topic and rate-limits state", async () => {
    await start();
    await obs.waitTopic("invert/t1/availability", (v) => v.state === "online");
    const dev = devices.get("t1")!;
    const from = obs.seen.length;
    dev.set({ link: "offline" }, true);
    await obs.waitTopic("invert/t1/availability", (v) => v.state === "offline", 5000, from);
    // 50 telemetry-driven changes in a burst: far fewer state publications (2/s) and the last value wins.
    const burstFrom = obs.seen.length;
    for (let i = 0; i < 50; i++) dev.set({ angle: i });
    await obs.waitTopic("invert/t1/state", (v) => v.angle === 49, 5000, burstFrom);
    const n = obs.count((m) => m.topic === "invert/t1/state") - obs.seen.slice(0, burstFrom).filter((m) => m.topic === "invert/t1/state").length;
    expect(n).toBeLessThanOrEqual(3);
  });

  it("publishes phase changes at QoS 1 and telemetry-only state updates at QoS 0, both retained", async () => {
    await start();
    await obs.waitTopic("invert/t1/state");
    const qos: { phase: unknown; angle: unknown; qos: number; retain: boolean }[] = [];
    // The observer subscribes at QoS 1, so each message arrives at the QoS it was published with.
    obs.client.on("message", (topic, payload, packet) => {
      if (topic !== "invert/t1/state" || payload.length === 0) return;
      const v = JSON.parse(payload.toString()) as { phase: unknown; angle: unknown };
      qos.push({ phase: v.phase, angle: v.angle, qos: packet.qos, retain: packet.retain });
    });
    const dev = devices.get("t1")!;
    const from = obs.seen.length;
    dev.set({ phase: "running.hold" }, true);
    await obs.waitTopic("invert/t1/state", (v) => v.phase === "running.hold", 5000, from);
    dev.set({ angle: 12.5 });
    await obs.waitTopic("invert/t1/state", (v) => v.angle === 12.5, 5000, from);
    expect(qos.find((m) => m.phase === "running.hold")).toMatchObject({ qos: 1 });
    expect(qos.find((m) => m.angle === 12.5)).toMatchObject({ qos: 0 });
    // Whatever the QoS, a late subscriber gets the last one as the retained state.
    const late = await Observer.connect(broker.url, ["invert/t1/state"]);
    expect(JSON.parse((await late.wait((m) => m.topic === "invert/t1/state", "retained state")).text)).toMatchObject({ phase: "running.hold", angle: 12.5 });
    await late.close();
  });

  it("answers requests echoing the transaction, refusing unsigned and bad requests with a reason", async () => {
    await start();
    await obs.waitTopic("invert/bridge/state");
    const dev = devices.get("t1")!;
    expect(await obs.request("invert", "t1", "start", { transaction: "u1", program: "beginner" })).toMatchObject({ transaction: "u1", status: "error", reason: expect.stringMatching(/^unsigned/) });
    expect(dev.calls).toEqual([]);
    expect(await obs.request("invert", "t1", "start", signedStart({ transaction: "s1", program: "beginner" }))).toEqual({ transaction: "s1", status: "ok" });
    expect(dev.calls).toEqual(["start:beginner"]);
    expect(await obs.request("invert", "t1", "start", signedStart({ transaction: "s2", program: "nope" }))).toMatchObject({ transaction: "s2", status: "error", reason: 'unknown program "nope"' });
    const bad = await obs.request("invert", "t1", "start", "{not json");
    expect(bad).toMatchObject({ status: "error", reason: expect.stringMatching(/^payload: invalid JSON/) });
    expect(await obs.request("invert", "t1", "start", signedStart({ transaction: "s3", program: 5 }))).toMatchObject({ status: "error", reason: expect.stringMatching(/^program:/) });
    expect(await obs.request("invert", "t1", "fly", { transaction: "f" })).toMatchObject({ transaction: "f", status: "error", reason: expect.stringMatching(/unknown action "fly"/) });
    // A device with no key refuses motion whatever the signature.
    const t2 = signCommand({ transaction: "k", program: "beginner" }, KEY, Date.now(), { deviceId: "t2", action: "start" });
    expect(await obs.request("invert", "t2", "start", t2)).toMatchObject({ status: "error", reason: expect.stringMatching(/no signing key/) });
    expect(devices.get("t2")!.calls).toEqual([]);
    expect(logs.some((l) => l.startsWith("warn refused start for t1 (transaction u1): unsigned"))).toBe(true);
  });

  it("refuses replayed and stale signed commands, and signatures for another device or action", async () => {
    await start();
    await obs.waitTopic("invert/bridge/state");
    const dev = devices.get("t1")!;
    const once = signedStart({ program: "beginner" });
    expect(await obs.request("invert", "t1", "start", { ...once })).toMatchObject({ status: "ok" });
    expect(await obs.request("invert", "t1", "start", { ...once })).toMatchObject({ status: "error", code: "replayed" });
    expect(await obs.request("invert", "t1", "start", signedStart({ program: "beginner" }, "t1", Date.now() - 61_000))).toMatchObject({ status: "error", code: "stale" });
    const forResume = signCommand({}, KEY, Date.now(), { deviceId: "t1", action: "start" });
    expect(await obs.request("invert", "t1", "resume", forResume)).toMatchObject({ status: "error", code: "bad-signature" });
    expect(await obs.request("invert", "t1", "resume", signCommand({ transaction: "r" }, KEY, Date.now(), { deviceId: "t1", action: "resume" }))).toMatchObject({ status: "ok" });
    expect(await obs.request("invert", "t1", "clear", { transaction: "c" })).toMatchObject({ status: "error", code: "unsigned" });
    expect(await obs.request("invert", "t1", "clear", signCommand({ transaction: "c2", code: "WATCHDOG" }, KEY, Date.now(), { deviceId: "t1", action: "clear" }))).toMatchObject({ status: "ok" });
    expect(dev.calls).toEqual(["start:beginner", "resume", "clear:WATCHDOG"]);
  });

  it("accepts stop, pause and discomfort without a key, even with a broken payload", async () => {
    await start();
    await obs.waitTopic("invert/bridge/state");
    const dev = devices.get("t2")!;
    expect(await obs.request("invert", "t2", "pause", { transaction: 1 })).toEqual({ transaction: 1, status: "ok" });
    expect(await obs.request("invert", "t2", "discomfort", { transaction: 2, kind: "dizziness" })).toEqual({ transaction: 2, status: "ok" });
    expect(await obs.request("invert", "t2", "stop", "")).toEqual({ status: "ok" });
    expect(await obs.request("invert", "t2", "stop", "garbage")).toMatchObject({ status: "ok", warning: expect.stringMatching(/invalid JSON/) });
    expect(await obs.request("invert", "t2", "discomfort", { transaction: 3, kind: "boredom" })).toMatchObject({ transaction: 3, status: "ok", warning: expect.stringMatching(/^kind:/) });
    expect(await obs.request("invert", "t2", "return", { transaction: 4 })).toEqual({ transaction: 4, status: "ok" });
    expect(dev.calls).toEqual(["pause", "discomfort:dizziness", "stop", "stop", "discomfort:other", "return"]);
  });

  it("runs a transaction once: a duplicate gets the cached answer", async () => {
    await start();
    await obs.waitTopic("invert/bridge/state");
    const dev = devices.get("t1")!;
    const req = signedStart({ transaction: "dup", program: "beginner" });
    const a = await obs.request("invert", "t1", "start", req);
    const b = await obs.request("invert", "t1", "start", req);
    expect(a).toEqual({ transaction: "dup", status: "ok" });
    expect(b).toEqual(a);
    expect(dev.calls).toEqual(["start:beginner"]);
    // A forged request cannot reserve a transaction id ahead of the genuine one.
    const forged = await obs.request("invert", "t1", "start", { transaction: "next", program: "beginner", ts: Date.now(), nonce: "forged-nonce", sig: "0".repeat(64) });
    expect(forged).toMatchObject({ transaction: "next", status: "error", code: "bad-signature" });
    expect(await obs.request("invert", "t1", "start", signedStart({ transaction: "next", program: "beginner" }))).toEqual({ transaction: "next", status: "ok" });
    expect(dev.calls).toEqual(["start:beginner", "start:beginner"]);
  });

  it("always runs stop, discomfort and return, whatever transaction id they reuse", async () => {
    await start();
    await obs.waitTopic("invert/bridge/state");
    const dev = devices.get("t1")!;
    // Two clients both numbering their requests from 1: a start, then someone else's stop.
    expect(await obs.request("invert", "t1", "start", signedStart({ transaction: 1, program: "beginner" }))).toEqual({ transaction: 1, status: "ok" });
    expect(await obs.request("invert", "t1", "stop", { transaction: 1 })).toEqual({ transaction: 1, status: "ok" });
    // Anyone can use an id first with a harmless select: a later discomfort or return with it still acts.
    expect(await obs.request("invert", "t1", "select", { transaction: "panel-7", program: "beginner" })).toMatchObject({ status: "ok" });
    expect(await obs.request("invert", "t1", "discomfort", { transaction: "panel-7", kind: "pain" })).toEqual({ transaction: "panel-7", status: "ok" });
    expect(await obs.request("invert", "t1", "return", { transaction: "panel-7" })).toEqual({ transaction: "panel-7", status: "ok" });
    // A duplicate safety request runs again (idempotent) instead of being answered from a cache.
    expect(await obs.request("invert", "t1", "stop", { transaction: 1 })).toEqual({ transaction: 1, status: "ok" });
    // Other actions still keep one answer per transaction: a repeated select is not run again.
    expect(await obs.request("invert", "t1", "select", { transaction: "panel-7", program: "beginner" })).toMatchObject({ status: "ok" });
    expect(dev.calls).toEqual(["start:beginner", "stop", "select:beginner", "discomfort:pain", "return", "stop"]);
  });

  it("runs and answers a stop that reuses the transaction id of a start still under way", async () => {
    await start();
    await obs.waitTopic("invert/bridge/state");
    const dev = devices.get("t1")!;
    let release!: () => void;
    const started = new Promise<void>((r) => (release = r));
    dev.start = async () => {
      await started;
      return { ok: true };
    };
    const from = obs.seen.length;
    await obs.client.publishAsync("invert/t1/request/start", JSON.stringify(signedStart({ transaction: 7, program: "beginner" })), { qos: 1 });
    expect(await obs.request("invert", "t1", "stop", { transaction: 7 })).toEqual({ transaction: 7, status: "ok" });
    expect(dev.calls).toEqual(["stop"]);
    release();
    expect(await obs.waitTopic("invert/t1/response/start", () => true, 5000, from)).toEqual({ transaction: 7, status: "ok" });
  });

  it("acts on a return with an unreadable payload, like stop and discomfort", async () => {
    await start();
    await obs.waitTopic("invert/bridge/state");
    expect(await obs.request("invert", "t2", "return", "{not json")).toMatchObject({ status: "ok", warning: expect.stringMatching(/^payload: invalid JSON/) });
    expect(devices.get("t2")!.calls).toEqual(["return"]);
  });

  it("refuses a retained motion request and clears it; a retained stop acts once", async () => {
    await start();
    await obs.waitTopic("invert/bridge/state");
    // A client publishes a signed start with the retain flag: the running bridge gets it live and runs it.
    const body = signedStart({ transaction: "once", program: "beginner" });
    await obs.client.publishAsync("invert/t1/request/start", JSON.stringify(body), { qos: 1, retain: true });
    await obs.waitTopic("invert/t1/response/start", (v) => v.transaction === "once");
    expect(devices.get("t1")!.calls).toEqual(["start:beginner"]);
    await bridge!.stop();
    bridge = undefined;
    // Published while no bridge runs, with the retain flag: a stop, and a pause.
    await obs.client.publishAsync("invert/t1/request/stop", JSON.stringify({ transaction: "s" }), { qos: 1, retain: true });
    await obs.client.publishAsync("invert/t1/request/pause", JSON.stringify({ transaction: "p" }), { qos: 1, retain: true });
    // The bridge restarts within the signature's 60 s window: the broker hands it the retained copies.
    const from = obs.seen.length;
    await start();
    expect(await obs.waitTopic("invert/t1/response/start", () => true, 5000, from)).toMatchObject({ transaction: "once", status: "error", code: "retained", reason: expect.stringMatching(/^retained:/) });
    expect(await obs.waitTopic("invert/t1/response/pause", () => true, 5000, from)).toMatchObject({ transaction: "p", status: "error", code: "retained" });
    expect(await obs.waitTopic("invert/t1/response/stop", () => true, 5000, from)).toMatchObject({ transaction: "s", status: "ok", warning: expect.stringMatching(/^retained:/) });
    // Each was cleared with an empty retained message.
    for (const a of ["start", "pause", "stop"]) await obs.wait((m) => m.topic === `invert/t1/request/${a}` && m.text === "", `${a} cleared`, 5000, from);
    // A request sent after that is a fence: the echo of the clearing of start and pause ran nothing.
    expect(await obs.request("invert", "t1", "select", { transaction: "fence", program: "beginner" })).toMatchObject({ status: "ok" });
    expect(obs.seen.slice(from).filter((m) => m.topic === "invert/t1/response/start" || m.topic === "invert/t1/response/pause")).toHaveLength(2);
    expect(devices.get("t1")!.calls.filter((c) => c !== "stop")).toEqual(["select:beginner"]);
    expect(devices.get("t1")!.calls).toContain("stop");
    // Nothing is retained on the request topics any more.
    await bridge!.stop();
    bridge = undefined;
    const again = obs.seen.length;
    await start();
    await obs.request("invert", "t1", "select", { transaction: "fence-2", program: "beginner" });
    expect(obs.seen.slice(again).filter((m) => m.topic.startsWith("invert/t1/response/") && !m.topic.endsWith("/select"))).toEqual([]);
    expect(devices.get("t1")!.calls).toEqual(["select:beginner"]);
  });

  it("refuses a signed start signed before the bridge started, inside the 60 s window", async () => {
    const before = Date.now() - 1000;
    await start();
    await obs.waitTopic("invert/bridge/state");
    expect(await obs.request("invert", "t1", "start", signedStart({ transaction: "old", program: "beginner" }, "t1", before))).toMatchObject({ status: "error", code: "before-start" });
    expect(devices.get("t1")!.calls).toEqual([]);
  });

  it("refuses an oversized request without reading it, but an oversized stop or discomfort still acts", async () => {
    await start();
    await obs.waitTopic("invert/bridge/state");
    const big = JSON.stringify({ transaction: "big", kind: "pain", pad: "x".repeat(70 * 1024) });
    const limit = /^payload: \d+ bytes, over the limit of 65536/;
    expect(await obs.request("invert", "t2", "pause", big)).toMatchObject({ status: "error", reason: expect.stringMatching(limit) });
    expect(await obs.request("invert", "t2", "stop", big)).toMatchObject({ status: "ok", warning: expect.stringMatching(limit) });
    expect(await obs.request("invert", "t2", "discomfort", big)).toMatchObject({ status: "ok", warning: expect.stringMatching(limit) });
    // Unread, so its kind is unknown: recorded as "other".
    expect(devices.get("t2")!.calls).toEqual(["stop", "discomfort:other"]);
  });

  it("announces Home Assistant discovery and removes devices dropped from the config", async () => {
    await start({ homeassistant: true });
    const angle = await obs.waitTopic("homeassistant/sensor/t1/angle/config");
    expect(angle).toMatchObject({ state_topic: "invert/t1/state" });
    expect(await obs.waitTopic("homeassistant/select/t2/program/config")).toMatchObject({ options: ["beginner", "oscillation-60"] });
    await bridge!.stop();
    bridge = undefined;
    // The same bridge id restarts without t2: t2's entities, state and availability are cleared.
    const from = obs.seen.length;
    await start({ homeassistant: true }, ["t1"]);
    await obs.wait((m) => m.topic === "homeassistant/sensor/t2/angle/config" && m.text === "", "t2 removal", 5000, from);
    await obs.wait((m) => m.topic === "invert/t2/state" && m.text === "", "t2 state cleared", 5000, from);
    expect(obs.seen.slice(from).some((m) => m.topic === "homeassistant/sensor/t1/angle/config" && m.text === "")).toBe(false);
    const late = await Observer.connect(broker.url, ["homeassistant/+/t2/#", "homeassistant/sensor/t1/angle/config"]);
    await late.wait((m) => m.topic === "homeassistant/sensor/t1/angle/config", "t1 still announced");
    expect(late.seen.filter((m) => m.topic.includes("/t2/"))).toEqual([]);
    await late.close();
  });

  it("publishes offline and closes devices on a graceful stop", async () => {
    await start();
    await obs.waitTopic("invert/bridge/state", (v) => v.state === "online");
    const from = obs.seen.length;
    await bridge!.stop();
    bridge = undefined;
    await obs.waitTopic("invert/bridge/state", (v) => v.state === "offline", 5000, from);
    await obs.waitTopic("invert/t1/availability", (v) => v.state === "offline", 5000, from);
    expect(devices.get("t1")!.calls).toContain("close");
  });
});
