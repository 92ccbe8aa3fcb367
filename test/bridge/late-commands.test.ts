// Commands to devices are never delivered late after a broker outage: mqtt.js resends unacknowledged QoS 1
// publishes after a reconnect (even on a clean session) and, by default, queues QoS 0 ones while
// disconnected. The broker here withholds the PUBACK of chosen publishes, so a command is in flight when
// the connection drops.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import mqtt, { type MqttClient } from "mqtt";
import { forgetUnackedOnClose, MqttTransport } from "../../protocol/transport/mqtt.js";
import { connectMqtt } from "../../src/bridge/mqtt-client.js";
import { MqttMux } from "../../src/bridge/mqtt-mux.js";
import { startAedes, type AedesBroker } from "../helpers/aedes.js";
import { waitFor } from "../helpers/wait.js";

let broker: AedesBroker;
let device: MqttClient;
/** Topics whose publishes the broker neither routes nor acknowledges while set. */
const withhold = new Set<string>();
const withheld: string[] = [];
const got: { topic: string; text: string }[] = [];
const closers: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  withhold.clear();
  withheld.length = 0;
  got.length = 0;
  broker = await startAedes({
    broker: {
      authorizePublish: (_client, packet, done) => {
        if (!withhold.has(packet.topic)) return done(null);
        // Never answered: no PUBACK, so the sender keeps the message as in flight.
        withheld.push(packet.payload.toString());
      },
    },
  });
  device = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  device.on("message", (topic, payload) => got.push({ topic, text: payload.toString() }));
});

afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await device.endAsync(true);
  await broker.close();
});

/** Drops the TCP connection under the client (no DISCONNECT), as a broker crash or network cut would. */
async function cut(client: MqttClient): Promise<void> {
  client.stream.destroy();
  await waitFor(() => !client.connected, 5000, "the client to notice the cut");
  await waitFor(() => client.connected, 5000, "the client to reconnect");
}

describe("no command is delivered late after an outage", () => {
  it("MqttMux: a command in flight when the connection drops is not sent again after the reconnect", async () => {
    const client = await connectMqtt({ url: broker.url, reconnectPeriod: 50 });
    closers.push(() => client.endAsync(true));
    await device.subscribeAsync("invert/d1/cmd", { qos: 1 });
    const t = new MqttMux(client, "invert").open("d1");
    withhold.add("invert/d1/cmd");
    t.send({ v: 1, seq: 1, type: "stop", id: "late-1" });
    await waitFor(() => withheld.length === 1, 5000, "the command to reach the broker");
    withhold.clear();
    await cut(client);
    t.send({ v: 1, seq: 2, type: "stop", id: "fence" });
    await waitFor(() => got.some((m) => m.text.includes('"fence"')), 5000, "the fence command");
    expect(got.map((m) => (JSON.parse(m.text) as { id: string }).id)).toEqual(["fence"]);
  });

  it("MqttTransport (companion): the same, and the command's callback is released", async () => {
    await device.subscribeAsync("invert/d2/cmd", { qos: 1 });
    const tr = await MqttTransport.connect({ url: broker.url, deviceId: "d2", role: "companion", reconnectMinMs: 20, reconnectMaxMs: 50 });
    closers.push(() => tr.close());
    withhold.add("invert/d2/cmd");
    tr.send({ v: 1, seq: 1, type: "stop", id: "late-2" });
    await waitFor(() => withheld.length === 1, 5000, "the command to reach the broker");
    withhold.clear();
    const client = (tr as unknown as { client: MqttClient }).client;
    await cut(client);
    tr.send({ v: 1, seq: 2, type: "stop", id: "fence" });
    await waitFor(() => got.some((m) => m.text.includes('"fence"')), 5000, "the fence command");
    expect(got.map((m) => (JSON.parse(m.text) as { id: string }).id)).toEqual(["fence"]);
    // The transport reconnects on a fresh mqtt.js store, which alone would already keep late-2 from being
    // resent, but would leave its pending entry (and callback) behind for good.
    await waitFor(() => Object.keys(client.outgoing).length === 0, 5000, "nothing left in flight");
  });

  it("forgets only the publishes its filter selects (the bridge's forwarded requests), and calls back with an error", async () => {
    const client = await connectMqtt({ url: broker.url, reconnectPeriod: 50 });
    closers.push(() => client.endAsync(true));
    forgetUnackedOnClose(client, (topic) => topic.includes("/forward/"));
    await device.subscribeAsync(["invert/bridge/b1/forward/#", "invert/t1/response/#"], { qos: 1 });
    withhold.add("invert/bridge/b1/forward/t1/start").add("invert/t1/response/stop");
    const errors: string[] = [];
    client.publish("invert/bridge/b1/forward/t1/start", "late", { qos: 1 }, (err) => errors.push(err?.message ?? "ok"));
    client.publish("invert/t1/response/stop", "answer", { qos: 1 });
    await waitFor(() => withheld.length === 2, 5000, "both publishes to reach the broker");
    withhold.clear();
    await cut(client);
    client.publish("invert/t1/response/stop", "fence", { qos: 1 });
    await waitFor(() => got.some((m) => m.text === "fence"), 5000, "the fence");
    expect(got.map((m) => m.text)).toEqual(["answer", "fence"]);
    expect(errors).toEqual(["Message removed"]);
  });

  it("the bridge's connections drop QoS 0 publishes made while disconnected instead of queueing them", async () => {
    const client = await connectMqtt({ url: broker.url, reconnectPeriod: 60_000 });
    closers.push(() => client.endAsync(true));
    client.stream.destroy();
    await waitFor(() => !client.connected, 5000, "the client to notice the cut");
    for (let i = 0; i < 5; i++) client.publish("invert/t1/state", `{"angle":${i}}`, { qos: 0, retain: true });
    expect(client.queue).toHaveLength(0);
  });
});
