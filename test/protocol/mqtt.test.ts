// The MQTT transport against two real brokers: aedes in-process (always available) and mosquitto (the
// reference broker, skipped with a reason when absent, required in CI). Real sockets, real broker
// semantics for QoS, retain and the last will.
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { MqttTransport, type DeviceStatus, type MqttTransportOptions } from "../../protocol/transport/mqtt.js";
import { Sequencer, topic, type AnyMsg, type CapsMsg } from "../../protocol/index.js";
import { startAedes, testTls } from "../helpers/aedes.js";
import { startMosquitto } from "../helpers/mosquitto.js";
import { freePort, startTcpProxy, type TcpProxy } from "../helpers/net.js";
import { describeIfTool } from "../helpers/real-io.js";
import { waitFor } from "../helpers/wait.js";

function collect(t: MqttTransport): AnyMsg[] {
  const got: AnyMsg[] = [];
  t.setHandlers({ onMessage: (m) => got.push(m) });
  return got;
}

interface Broker {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const WAIT = 5000;

function caps(seq: Sequencer, boot: string): CapsMsg {
  return seq.stamp<CapsMsg>({
    type: "caps",
    model: "T-1",
    serial: "SN1",
    fw: "1.0.0",
    proto: 1,
    axes: { tilt: { min: -80, max: 90, upright: -80, speedMax: 10, returnSpeed: 4 } },
    watchdogMs: 1000,
    tlmHz: 10,
    boot,
  });
}

function suite(start: () => Promise<Broker>, restartable: boolean): void {
  let broker: Broker | undefined;
  const open: MqttTransport[] = [];
  const proxies: TcpProxy[] = [];
  let n = 0;
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
    for (const p of proxies.splice(0)) await p.close();
    await broker?.stop();
    broker = undefined;
  });

  async function connect(role: "device" | "companion", extra: Partial<MqttTransportOptions> = {}): Promise<MqttTransport> {
    broker ??= await start();
    const t = await MqttTransport.connect({ url: broker.url, deviceId: `dev${n}`, role, reconnectMinMs: 20, reconnectMaxMs: 200, ...extra });
    open.push(t);
    return t;
  }

  it("carries every message type in both directions; caps are retained for a late companion", async () => {
    n++;
    const dev = await connect("device");
    const atDev = collect(dev);
    const ds = new Sequencer();
    const c = caps(ds, "b1");
    dev.send(c);
    // A companion that connects after the caps were published still gets them (retained).
    const comp = await connect("companion");
    const atComp = collect(comp);
    await waitFor(() => atComp.length === 1, WAIT, "retained caps");
    expect(atComp[0]).toEqual(c);

    const cs = new Sequencer();
    const cmds: AnyMsg[] = [
      cs.stamp({ type: "hello", client: "t", proto: [1] }),
      cs.stamp({ type: "hb" }),
      cs.stamp({ type: "move", id: "m1", axis: "tilt", target: 10, speed: 4 }),
      cs.stamp({ type: "force", id: "f1", axis: "traction", target: 200, rate: 20 }),
      cs.stamp({ type: "stop", id: "s1" }),
      cs.stamp({ type: "return", id: "r1" }),
      cs.stamp({ type: "limits", id: "l1", tiltMax: 30 }),
      cs.stamp({ type: "clear", id: "c1", code: "WATCHDOG" }),
    ];
    for (const m of cmds) comp.send(m);
    await waitFor(() => atDev.length === cmds.length, WAIT, "commands at the device");
    // QoS 1 on one topic from one client keeps order.
    expect(atDev).toEqual(cmds);

    const replies: AnyMsg[] = [
      ds.stamp({ type: "ack", id: "m1", result: "accepted" }),
      ds.stamp({ type: "evt", code: "RETURN_STARTED", severity: "info", msg: "stop" }),
    ];
    for (const m of replies) dev.send(m);
    await waitFor(() => atComp.length === 3, WAIT, "ack and evt");
    expect(atComp.slice(1)).toEqual(replies);
    const tlm = ds.stamp({
      type: "tlm", t: 100, tilt: -80, tilt2: -79.9, vel: 0, current: 0.1, lock: true, sw: "ok", mode: "idle", faults: [], rxErr: 0,
    });
    dev.send(tlm);
    await waitFor(() => atComp.length === 4, WAIT, "telemetry");
    expect(atComp[3]).toEqual(tlm);
    expect(comp.stats.rxFrames).toBe(4);
    expect(dev.stats.rxFrames).toBe(cmds.length);
  });

  it("refuses to send a message of the other role", async () => {
    n++;
    const comp = await connect("companion");
    expect(() => comp.send(new Sequencer().stamp({ type: "ack", id: "x", result: "done" }))).toThrow(/companion cannot send "ack"/);
  });

  it("drops and counts bad payloads: not JSON, wrong version, out of schema, wrong topic, oversized, not UTF-8", async () => {
    n++;
    const comp = await connect("companion");
    const got = collect(comp);
    const raw = await mqtt.connectAsync(broker!.url);
    try {
      const id = `dev${n}`;
      await raw.publishAsync(topic(id, "ack"), "not json", { qos: 1 });
      await raw.publishAsync(topic(id, "ack"), '{"v":2,"seq":0,"type":"ack","id":"a","result":"done"}', { qos: 1 });
      await raw.publishAsync(topic(id, "ack"), '{"v":1,"seq":0,"type":"ack","id":"a","result":"maybe"}', { qos: 1 });
      await raw.publishAsync(topic(id, "evt"), '{"v":1,"seq":0,"type":"ack","id":"a","result":"done"}', { qos: 1 });
      await raw.publishAsync(topic(id, "evt"), JSON.stringify({ v: 1, seq: 0, type: "evt", code: "BOOT", severity: "info", msg: "x".repeat(600) }), { qos: 1 });
      // Invalid UTF-8 inside a JSON string: a format drop, as on a serial line, never a U+FFFD in a reason.
      await raw.publishAsync(topic(id, "ack"), Buffer.concat([Buffer.from('{"v":1,"seq":0,"type":"ack","id":"a","result":"rejected","reason":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), { qos: 1 });
      await raw.publishAsync(topic(id, "ack"), '{"v":1,"seq":1,"type":"ack","id":"a","result":"done"}', { qos: 1 });
      await waitFor(() => got.length === 1, WAIT, "the one valid ack");
      expect(comp.stats.drops).toMatchObject({ json: 1, version: 1, schema: 1, type: 1, overlong: 1, format: 1 });
    } finally {
      await raw.endAsync();
    }
  });

  it("companion sees online, then offline from the last will when the device's network dies, then online after it reconnects", async () => {
    n++;
    broker ??= await start();
    const proxy = await startTcpProxy(broker.port);
    proxies.push(proxy);
    const dev = await connect("device", { url: `mqtt://127.0.0.1:${proxy.port}`, keepaliveS: 2 });
    const comp = await connect("companion");
    const seen: DeviceStatus[] = [];
    comp.onDeviceStatus((s) => seen.push(s));
    await waitFor(() => comp.deviceStatus === "online", WAIT, "online status");
    const links: string[] = [];
    dev.onLinkState((s) => links.push(s));
    proxy.cut();
    await waitFor(() => seen.includes("offline"), WAIT, "last will");
    await waitFor(() => links.includes("connected") && comp.deviceStatus === "online", WAIT, "reconnect");
    expect(links[0]).toBe("disconnected");
    expect(seen.slice(-2)).toEqual(["offline", "online"]);
    // While the link was down nothing was queued for later: stale commands must not arrive late.
    expect(dev.connected).toBe(true);
  });

  it("a deliberate device close publishes offline", async () => {
    n++;
    const dev = await connect("device");
    const comp = await connect("companion");
    await waitFor(() => comp.deviceStatus === "online", WAIT, "online");
    await dev.close();
    await waitFor(() => comp.deviceStatus === "offline", WAIT, "offline");
  });

  it("messages sent while the broker is unreachable are dropped and counted, not queued", async () => {
    n++;
    broker ??= await start();
    const proxy = await startTcpProxy(broker.port);
    proxies.push(proxy);
    const comp = await connect("companion", { url: `mqtt://127.0.0.1:${proxy.port}` });
    const dev = await connect("device");
    const atDev = collect(dev);
    const down = new Promise<void>((resolve) => comp.onLinkState((s) => s === "disconnected" && resolve()));
    await proxy.close();
    await down;
    const cs = new Sequencer();
    comp.send(cs.stamp({ type: "stop", id: "late" }));
    expect(comp.txDropped).toBe(1);
    expect(atDev).toEqual([]);
  });

  if (restartable) {
    it("reconnects after a broker restart and re-publishes caps and online status", async () => {
      n++;
      const dev = await connect("device");
      dev.send(caps(new Sequencer(), "b2"));
      const b = broker as Broker & { restart(): Promise<void> };
      await b.restart();
      await waitFor(() => dev.connected, WAIT, "device reconnect");
      const comp = await connect("companion");
      const got = collect(comp);
      await waitFor(() => got.length === 1 && comp.deviceStatus === "online", WAIT, "caps after restart");
      expect((got[0] as CapsMsg).boot).toBe("b2");
    });
  }
}

describe("mqtt transport over aedes", () => {
  suite(async () => {
    const b = await startAedes();
    return { url: b.url, port: b.port, stop: () => b.close() };
  }, false);

  it("rejects wrong credentials with one clear line and connects with the right ones", async () => {
    const b = await startAedes({ credentials: { username: "u", password: "p" } });
    try {
      await expect(MqttTransport.connect({ url: b.url, deviceId: "d", role: "companion", username: "u", password: "x" })).rejects.toThrow(
        /broker refused the connection/,
      );
      await expect(MqttTransport.connect({ url: b.url, deviceId: "d", role: "companion" })).rejects.toMatchObject({ code: "EACCES" });
      const t = await MqttTransport.connect({ url: b.url, deviceId: "d", role: "companion", username: "u", password: "p" });
      expect(t.connected).toBe(true);
      await t.close();
    } finally {
      await b.close();
    }
  });

  it("connects over TLS (mqtts) with the CA and a client certificate, and refuses an untrusted server", async () => {
    const b = await startAedes({ tls: { clientCert: true } });
    const m = testTls();
    try {
      const dev = await MqttTransport.connect({ url: b.url, deviceId: "tlsdev", role: "device", ca: m.ca, cert: m.clientCert, key: m.clientKey });
      const comp = await MqttTransport.connect({ url: b.url, deviceId: "tlsdev", role: "companion", ca: m.ca, cert: m.clientCert, key: m.clientKey });
      const got: AnyMsg[] = [];
      dev.setHandlers({ onMessage: (x) => got.push(x) });
      const hb = new Sequencer().stamp({ type: "hb" });
      comp.send(hb);
      await waitFor(() => got.length === 1, WAIT, "hb over TLS");
      expect(got[0]).toEqual(hb);
      await comp.close();
      await dev.close();
      // Without the CA the server certificate is not trusted: a clear failure, never a silent plain link.
      await expect(
        MqttTransport.connect({ url: b.url, deviceId: "tlsdev", role: "companion", cert: m.clientCert, key: m.clientKey, connectTimeoutMs: 500 }),
      ).rejects.toThrow(/mqtt mqtts:\/\/127\.0\.0\.1:\d+: TLS: .*(certificate|self.signed)/i);
    } finally {
      await b.close();
    }
  });

  it("uses a configurable root topic", async () => {
    const b = await startAedes();
    const raw = await mqtt.connectAsync(b.url);
    try {
      const topics: string[] = [];
      raw.on("message", (t) => topics.push(t));
      await raw.subscribeAsync("#");
      const dev = await MqttTransport.connect({ url: b.url, deviceId: "r1", role: "device", root: "lab/invert" });
      const comp = await MqttTransport.connect({ url: b.url, deviceId: "r1", role: "companion", root: "lab/invert" });
      const got = collect(comp);
      const ds = new Sequencer();
      dev.send(ds.stamp({ type: "evt", code: "BOOT", severity: "info", msg: "reset: power-on" }));
      await waitFor(() => got.length === 1 && topics.includes("lab/invert/r1/evt"), WAIT, "evt under the custom root");
      expect(topics).toContain("lab/invert/r1/status");
      expect(topics.every((t) => t.startsWith("lab/invert/r1/"))).toBe(true);
      await comp.close();
      await dev.close();
      await expect(MqttTransport.connect({ url: b.url, deviceId: "r1", role: "device", root: "bad/+" })).rejects.toMatchObject({ code: "EINVAL" });
    } finally {
      await raw.endAsync();
      await b.close();
    }
  });

  it("rejects bad options before connecting", async () => {
    await expect(MqttTransport.connect({ url: "mqtt://127.0.0.1:1", deviceId: "a/b", role: "device" })).rejects.toThrow(/deviceId "a\/b"/);
    await expect(MqttTransport.connect({ url: "http://x", deviceId: "a", role: "device" })).rejects.toThrow(/must start with mqtt/);
  });

  it("gives up on an unreachable broker with a clear error", async () => {
    const port = await freePort();
    await expect(
      MqttTransport.connect({ url: `mqtt://127.0.0.1:${port}`, deviceId: "d", role: "companion", connectTimeoutMs: 300, reconnectMinMs: 20 }),
    ).rejects.toMatchObject({ message: expect.stringMatching(new RegExp(`^mqtt mqtt://127.0.0.1:${port}: no connection`)), code: "ECONNREFUSED" });
  });
});

describeIfTool(["mosquitto"], "mqtt transport over mosquitto", () => {
  suite(async () => {
    let m = await startMosquitto();
    const port = m.port;
    return {
      url: m.url,
      port,
      stop: () => m.stop(),
      async restart() {
        await m.kill();
        m = await startMosquitto({ port });
      },
    };
  }, true);
});
