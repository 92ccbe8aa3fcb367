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
});
