// The MQTT transport against what a broker may hold or do between two connections: retained copies of
// messages that are never meant to be retained (a stale command replayed on every subscription), and a
// broker that comes back refusing the credentials it accepted before. aedes in-process, real sockets;
// waits are on deliveries and connection events, never on the passing of time.
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { MqttTransport } from "../../protocol/transport/mqtt.js";
import { Sequencer, topic, type AnyMsg, type DropReason } from "../../protocol/index.js";
import { startAedes, type AedesBroker } from "../helpers/aedes.js";
import { startTcpProxy, type TcpProxy } from "../helpers/net.js";
import { waitFor } from "../helpers/wait.js";

const WAIT = 5000;

describe("mqtt transport and what the broker kept", () => {
  let broker: AedesBroker | undefined;
  let proxy: TcpProxy | undefined;
  const open: MqttTransport[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
    await proxy?.close();
    proxy = undefined;
    await broker?.close();
    broker = undefined;
  });

  async function publishRetained(url: string, items: [string, string][]): Promise<void> {
    const raw = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
    try {
      for (const [t, payload] of items) await raw.publishAsync(t, payload, { qos: 1, retain: true });
    } finally {
      await raw.endAsync();
    }
  }

  it("a device drops a retained command (stale, replayed by the broker on every subscription) and still takes live ones", async () => {
    broker = await startAedes();
    const stale = JSON.stringify({ v: 1, seq: 0, type: "move", id: "stale-1", axis: "tilt", target: 30, speed: 5 });
    await publishRetained(broker.url, [[topic("d1", "cmd"), stale]]);

    const dev = await MqttTransport.connect({ url: broker.url, deviceId: "d1", role: "device" });
    open.push(dev);
    const got: AnyMsg[] = [];
    const drops: [DropReason, string][] = [];
    dev.setHandlers({ onMessage: (m) => got.push(m), onDrop: (r, d) => drops.push([r, d]) });
    // The retained copy may arrive before the handlers are set: the counters see it either way.
    const seen = (): number => dev.stats.rxFrames + Object.values(dev.stats.drops).reduce((a, b) => a + b, 0);
    await waitFor(() => seen() === 1, WAIT, "the retained command");

    const comp = await MqttTransport.connect({ url: broker.url, deviceId: "d1", role: "companion" });
    open.push(comp);
    const hb = new Sequencer().stamp({ type: "hb" });
    comp.send(hb);
    await waitFor(() => got.length === 1, WAIT, "the live heartbeat");

    expect(got).toEqual([hb]);
    expect(dev.stats.rxFrames).toBe(1);
    expect(dev.stats.drops.type).toBe(1);
    if (drops.length > 0) expect(drops[0][1]).toMatch(/invert\/d1\/cmd: .*retained/);
  });

  it("a companion drops retained acks, telemetry and events but takes the retained caps", async () => {
    broker = await startAedes();
    const ack = { v: 1, seq: 1, type: "ack", id: "c-1", result: "done" };
    const tlm = { v: 1, seq: 2, type: "tlm", t: 5, tilt: -80, tilt2: -80, vel: 0, current: 0, lock: true, sw: "ok", mode: "idle", faults: [], rxErr: 0 };
    const evt = { v: 1, seq: 3, type: "evt", code: "RETURN_DONE", severity: "info", msg: "upright" };
    const caps = { v: 1, seq: 0, type: "caps", model: "T", serial: "S", fw: "1", proto: 1, axes: {}, watchdogMs: 1000, tlmHz: 10, boot: "b" };
    await publishRetained(broker.url, [
      [topic("d2", "ack"), JSON.stringify(ack)],
      [topic("d2", "tlm"), JSON.stringify(tlm)],
      [topic("d2", "evt"), JSON.stringify(evt)],
      [topic("d2", "caps"), JSON.stringify(caps)],
    ]);

    const comp = await MqttTransport.connect({ url: broker.url, deviceId: "d2", role: "companion" });
    open.push(comp);
    const seen = (): number => comp.stats.rxFrames + Object.values(comp.stats.drops).reduce((a, b) => a + b, 0);
    await waitFor(() => seen() === 4, WAIT, "the four retained messages");
    expect(comp.stats.rxFrames).toBe(1);
    expect(comp.stats.drops.type).toBe(3);
  });

  it("a broker that refuses the credentials on a reconnect is reported once through onClose, not retried", async () => {
    let refuse = false;
    let attempts = 0;
    broker = await startAedes({
      broker: {
        authenticate: (_client, _user, _password, done) => {
          attempts++;
          if (refuse) done(Object.assign(new Error("not authorized"), { returnCode: 5 }), false);
          else done(null, true);
        },
      },
    });
    proxy = await startTcpProxy(broker.port);
    const dev = await MqttTransport.connect({ url: `mqtt://127.0.0.1:${proxy.port}`, deviceId: "d3", role: "device", reconnectMinMs: 10, reconnectMaxMs: 20 });
    open.push(dev);
    const closes: (Error | undefined)[] = [];
    dev.setHandlers({ onMessage: () => {}, onClose: (e) => closes.push(e) });

    refuse = true;
    proxy.cut();
    await waitFor(() => closes.length > 0, WAIT, "the refusal reported through onClose");
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({ code: "EACCES", message: expect.stringMatching(/broker refused the connection/) });
    expect(dev.connected).toBe(false);
    // The first connection and the one refused attempt: the transport stopped before its backoff came round.
    expect(attempts).toBe(2);
  });
});
