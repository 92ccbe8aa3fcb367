// End to end over MQTT: the standalone simulator process serves a device id on a broker (aedes in-process,
// and mosquitto when installed); the companion opens `mqtt://host:port/<id>` and runs a whole session.
import { afterEach, describe, expect, it } from "vitest";
import { startAedes, testTls, type AedesBroker } from "../helpers/aedes.js";
import { startMosquitto, type MosquittoBroker } from "../helpers/mosquitto.js";
import { describeIfTool } from "../helpers/real-io.js";
import { openDevice, type DeviceConnection } from "../../src/link/connect.js";
import { startSession } from "../../src/session/run-session.js";
import { parseProgram } from "../../src/programs/schema.js";
import { readTrace, startSim, workdir, QUICK_SIM_CONFIG, SHORT_PROGRAM, type Child, type Workdir } from "./procs.js";

async function sessionOverMqtt(brokerUrl: string, id: string, wd: Workdir, hold: { sim?: Child; conn?: DeviceConnection }): Promise<void> {
  const trace = wd.file("trace.jsonl");
  hold.sim = await startSim(["--mqtt", brokerUrl, "--id", id, "--config", wd.file("sim.json", JSON.stringify(QUICK_SIM_CONFIG)), "--trace", trace]);
  const conn = await openDevice(`${brokerUrl}/${id}`, { connectTimeoutMs: 5000 });
  hold.conn = conn;
  const session = startSession({ link: conn.link, clock: conn.clock, program: parseProgram(SHORT_PROGRAM) });
  const s = await session.done;
  expect(s.outcome, s.reason).toBe("completed");
  expect(s.maxAngle).toBeGreaterThan(-17.6);
  expect(s.link.rxFrames).toBeGreaterThan(50);
  expect(s.link.rttAvgMs).toBeLessThan(200);
  const tlm = readTrace(trace).filter((l) => l.type === "tlm");
  expect(tlm[tlm.length - 1].tilt).toBeLessThan(-19.5);
}

describe("end to end over MQTT (aedes)", () => {
  let broker: AedesBroker | undefined;
  const hold: { sim?: Child; conn?: DeviceConnection } = {};
  let wd: Workdir | undefined;
  afterEach(async () => {
    await hold.conn?.close();
    await hold.sim?.end("SIGTERM");
    await broker?.close();
    wd?.cleanup();
    hold.conn = hold.sim = undefined;
  });

  it("runs a complete session against the simulator process", async () => {
    broker = await startAedes();
    wd = workdir();
    await sessionOverMqtt(broker.url, "e2e-aedes", wd, hold);
  });
});

describeIfTool(["mosquitto"], "end to end over MQTT (mosquitto)", () => {
  let broker: MosquittoBroker | undefined;
  const hold: { sim?: Child; conn?: DeviceConnection } = {};
  let wd: Workdir | undefined;
  afterEach(async () => {
    await hold.conn?.close();
    await hold.sim?.end("SIGTERM");
    await broker?.stop();
    wd?.cleanup();
    hold.conn = hold.sim = undefined;
  });

  it("runs a complete session against the simulator process", async () => {
    broker = await startMosquitto();
    wd = workdir();
    await sessionOverMqtt(broker.url, "e2e-mosq", wd, hold);
  });
});

describe("end to end over MQTT with TLS, a client certificate and credentials", () => {
  let broker: AedesBroker | undefined;
  let device: { stop(): void } | undefined;
  let deviceTransport: { close(): Promise<void> } | undefined;
  let conn: DeviceConnection | undefined;
  afterEach(async () => {
    await conn?.close();
    device?.stop();
    await deviceTransport?.close();
    await broker?.close();
  });

  it("opens mqtts://user:pass@host:port/<id>?ca=&cert=&key= from files and runs a session", async () => {
    broker = await startAedes({ tls: { clientCert: true }, credentials: { username: "ann", password: "s3cret" } });
    const tls = testTls();
    const { MqttTransport } = await import("../../protocol/transport/mqtt.js");
    const { createSimDevice } = await import("../../device-sim/index.js");
    const { RealClock } = await import("../../protocol/index.js");
    const t = await MqttTransport.connect({
      url: broker.url, deviceId: "tls-1", role: "device", username: "ann", password: "s3cret",
      ca: tls.ca, cert: tls.clientCert, key: tls.clientKey,
    });
    deviceTransport = t;
    device = createSimDevice({ clock: new RealClock(), transport: t, config: QUICK_SIM_CONFIG });
    const wd = workdir();
    try {
      const ca = wd.file("ca.crt", tls.ca.toString());
      const cert = wd.file("client.crt", tls.clientCert.toString());
      const key = wd.file("client.key", tls.clientKey.toString());
      conn = await openDevice(`mqtts://ann:s3cret@127.0.0.1:${broker.port}/tls-1?ca=${ca}&cert=${cert}&key=${key}`, { connectTimeoutMs: 5000 });
      const session = startSession({ link: conn.link, clock: conn.clock, program: parseProgram(SHORT_PROGRAM) });
      const s = await session.done;
      expect(s.outcome, s.reason).toBe("completed");
      expect(s.maxAngle).toBeGreaterThan(-17.6);
    } finally {
      wd.cleanup();
    }
  });

  it("names the unreadable certificate file in one line", async () => {
    await expect(openDevice("mqtts://127.0.0.1:1/x?ca=/nonexistent/ca.crt")).rejects.toThrow(/cannot read ca file \/nonexistent\/ca.crt: ENOENT/);
  });
});
