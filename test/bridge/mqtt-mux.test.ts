// The shared device-link connection: each device's transport publishes on its own topics, heartbeats at
// QoS 0 (periodic, never acknowledged, never worth redelivering late) and commands at QoS 1.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import mqtt, { type MqttClient } from "mqtt";
import { connectMqtt } from "../../src/bridge/mqtt-client.js";
import { MqttMux } from "../../src/bridge/mqtt-mux.js";
import { startAedes, type AedesBroker } from "../helpers/aedes.js";

let broker: AedesBroker;
let client: MqttClient;
let device: MqttClient;

beforeEach(async () => {
  broker = await startAedes();
  client = await connectMqtt({ url: broker.url });
  device = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
});

afterEach(async () => {
  await device.endAsync(true);
  await client.endAsync(true);
  await broker.close();
});

describe("MqttMux", () => {
  it("sends heartbeats at QoS 0 and commands at QoS 1 on the device's cmd topic", async () => {
    const got: { type: string; qos: number }[] = [];
    const both = new Promise<void>((resolve) =>
      device.on("message", (topic, payload, packet) => {
        if (topic === "invert/d1/cmd") got.push({ type: (JSON.parse(payload.toString()) as { type: string }).type, qos: packet.qos });
        if (got.length === 2) resolve();
      }),
    );
    // Subscribed at QoS 1: each message arrives at the QoS it was published with.
    await device.subscribeAsync("invert/d1/cmd", { qos: 1 });
    const t = new MqttMux(client, "invert").open("d1");
    t.send({ v: 1, seq: 0, type: "hb" });
    t.send({ v: 1, seq: 1, type: "stop", id: "c-1" });
    await both;
    expect(got).toEqual([
      { type: "hb", qos: 0 },
      { type: "stop", qos: 1 },
    ]);
    expect(t.stats.txFrames).toBe(2);
  });

  it("drops a retained leftover on a device channel that is never retained, and takes the live messages", async () => {
    const tlm = (t: number) => JSON.stringify({ v: 1, seq: t, type: "tlm", t, tilt: -80, tilt2: -80, vel: 0, current: 0, lock: true, sw: "ok", mode: "idle", faults: [], rxErr: 0 });
    // Left behind by some client: the broker hands it to every new subscription, with the retain flag.
    await device.publishAsync("invert/d1/tlm", tlm(1), { qos: 1, retain: true });
    const t = new MqttMux(client, "invert").open("d1");
    const got: number[] = [];
    const drops: string[] = [];
    const live = new Promise<void>((resolve) =>
      t.setHandlers({
        onMessage: (m) => {
          if (m.type === "tlm") got.push(m.t);
          resolve();
        },
        onDrop: (reason, detail) => drops.push(`${reason}: ${detail}`),
      }),
    );
    // The subscription is in place (and the retained copy delivered) once a QoS 1 round trip on this
    // connection has completed after it.
    await client.publishAsync("invert/zz/ping", "x", { qos: 1 });
    await device.publishAsync("invert/d1/tlm", tlm(2), { qos: 0 });
    await live;
    expect(got).toEqual([2]);
    expect(drops).toEqual([expect.stringMatching(/^type: invert\/d1\/tlm: retained message on a channel that is never retained/)]);
    expect(t.stats.drops.type).toBe(1);
  });
});
