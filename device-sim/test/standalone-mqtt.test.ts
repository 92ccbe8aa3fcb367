// `invert sim --mqtt` as a child process, on aedes (in-process) and on mosquitto when installed, driven by
// a plain client on the protocol module's MQTT transport. Also: retained caps, and status going offline
// (retained, from the last will) when the simulator process is killed.
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MqttTransport } from "../../protocol/transport/mqtt.js";
import { startAedes } from "../../test/helpers/aedes.js";
import { startMosquitto } from "../../test/helpers/mosquitto.js";
import { describeIfTool } from "../../test/helpers/real-io.js";
import { waitFor } from "../../test/helpers/wait.js";
import * as acc from "./acceptance.js";
import { PlainClient, spawnSim, tempDir, writeConfig, type SimProcess } from "./real-io.js";

/** Connects a bare MQTT client, reads the retained payload of `topic`, disconnects. */
async function retained(url: string, topic: string): Promise<string | undefined> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  let got: string | undefined;
  c.on("message", (t, p, packet) => {
    if (t === topic && packet.retain) got = p.toString("utf8");
  });
  await c.subscribeAsync(topic, { qos: 1 });
  try {
    await waitFor(() => got !== undefined, 3000, `retained ${topic}`);
  } finally {
    await c.endAsync();
  }
  return got;
}

function scenario(name: string, start: () => Promise<{ url: string; close(): Promise<void> }>): void {
  describe(`invert sim --mqtt on ${name}`, () => {
    let broker: { url: string; close(): Promise<void> };
    let sim: SimProcess;
    let transport: MqttTransport;
    let client: PlainClient;
    const id = `sim-${name}-${process.pid}`;

    beforeAll(async () => {
      broker = await start();
      sim = spawnSim(["--mqtt", broker.url, "--id", id, "--config", writeConfig(tempDir()), "--seed", "5"]);
      await sim.ready();
      transport = await MqttTransport.connect({ url: broker.url, deviceId: id, role: "companion" });
      client = new PlainClient(transport);
    });

    afterAll(async () => {
      client?.stopHeartbeat();
      await sim?.kill("SIGKILL");
      await transport?.close();
      await broker?.close();
    });

    it("publishes retained caps and status online", async () => {
      await waitFor(() => client.caps.length > 0, 5000, "retained caps");
      expect(JSON.parse((await retained(broker.url, `invert/${id}/status`))!)).toEqual({ state: "online" });
    });
    it("answers hello with caps", () => acc.handshake(client));
    it("streams telemetry at the advertised rate", () => acc.telemetryRate(client));
    it("executes a move within limits at no more than the commanded speed", () => acc.moveWithinLimits(client));
    it("refuses out-of-limit moves", () => acc.outOfLimitRefused(client));
    it("drops a malformed command and counts it in rxErr", async () => {
      const raw = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
      try {
        await acc.corruptRefused(client, () => {
          void raw.publishAsync(`invert/${id}/cmd`, '{"v":1,"seq":7,"type":"move","id":"bad","axis":"tilt","target":0,"speed":5', { qos: 1 });
        });
      } finally {
        await raw.endAsync();
      }
    });
    it("returns to upright on its own when the client goes silent", () => acc.silentReturn(client));
    it("leaves status offline (retained) when the simulator process is killed", async () => {
      await sim.kill("SIGKILL");
      await waitFor(() => transport.deviceStatus === "offline", 10_000, "status offline");
      expect(JSON.parse((await retained(broker.url, `invert/${id}/status`))!)).toEqual({ state: "offline" });
    });
  });
}

scenario("aedes", () => startAedes());

describeIfTool(["mosquitto"], "mosquitto broker", () => {
  scenario("mosquitto", async () => {
    const m = await startMosquitto();
    return { url: m.url, close: () => m.stop() };
  });
});

describe("invert sim --mqtt clean shutdown", () => {
  it("says offline (retained) on SIGTERM and exits 0", async () => {
    const broker = await startAedes();
    const id = `sim-term-${process.pid}`;
    const sim = spawnSim(["--mqtt", broker.url, "--id", id]);
    try {
      await sim.ready();
      expect(JSON.parse((await retained(broker.url, `invert/${id}/status`))!)).toEqual({ state: "online" });
      const r = await sim.kill("SIGTERM");
      expect(r.code).toBe(0);
      expect(JSON.parse((await retained(broker.url, `invert/${id}/status`))!)).toEqual({ state: "offline" });
    } finally {
      await sim.kill("SIGKILL");
      await broker.close();
    }
  });
});
