// A mosquitto crash and restart in the middle of a session: the device comes back upright (the session's
// slow return or the firmware's own), the bridge reconnects and republishes its retained topics, and a
// redelivered request is answered from the transaction cache instead of running again.
import { afterEach, beforeEach, expect, it } from "vitest";
import { RealClock } from "../../protocol/index.js";
import { MqttTransport } from "../../protocol/transport/mqtt.js";
import { createSimDevice, type SimDevice } from "../../device-sim/index.js";
import { startBridge, type Bridge } from "../../src/bridge/bridge.js";
import { loadBridgeConfig } from "../../src/bridge/config.js";
import { sessionDeviceFor } from "../../src/bridge/service.js";
import { signCommand } from "../../src/bridge/signing.js";
import { startMosquitto, type MosquittoBroker } from "../helpers/mosquitto.js";
import { describeIfTool } from "../helpers/real-io.js";
import { waitFor } from "../helpers/wait.js";
import { Observer } from "./helpers.js";

const KEY_HEX = "55".repeat(32);
const KEY = Buffer.from(KEY_HEX, "hex");
const PROGRAM = { name: "restart-test", steps: [{ type: "ramp", to: -60, speed: 10 }, { type: "hold", seconds: 600 }] };

describeIfTool(["mosquitto"], "broker restart mid-session (mosquitto)", () => {
  let broker: MosquittoBroker;
  let obs: Observer;
  let sim: SimDevice;
  let transport: MqttTransport;
  let bridge: Bridge | undefined;

  beforeEach(async () => {
    broker = await startMosquitto();
    obs = await Observer.connect(broker.url, ["invert/#"]);
    transport = await MqttTransport.connect({ url: broker.url, deviceId: "rt", role: "device", reconnectMinMs: 100, reconnectMaxMs: 400 });
    sim = createSimDevice({ clock: new RealClock(), transport, seed: 5, config: { tilt: { approachSpeed: 4, returnSpeed: 8 } } });
    const clock = new RealClock();
    const config = loadBridgeConfig({ mqtt: broker.url, device: [`${broker.url}/rt`], deviceKey: [`rt=${KEY_HEX}`], bridgeId: "rb" });
    bridge = await startBridge({
      config, clock, programNames: [], version: "test", log: () => undefined,
      createDevice: (d) => sessionDeviceFor(d, clock, { log: () => undefined }),
    });
  });

  afterEach(async () => {
    await bridge?.stop();
    sim.stop();
    await transport.close();
    await obs.close();
    await broker.stop();
  });

  it("returns safely, republishes retained state, and never runs a request twice", async () => {
    await obs.waitTopic("invert/rt/availability", (v) => v.state === "online", 15_000);
    const req = signCommand({ transaction: "once", program: PROGRAM }, KEY, Date.now(), { deviceId: "rt", action: "start" });
    expect(await obs.request("invert", "rt", "start", req, 10_000)).toMatchObject({ transaction: "once", status: "ok" });
    await obs.waitTopic("invert/rt/state", (v) => typeof v.angle === "number" && v.angle > -72, 15_000);
    const acted = sim.actedCommands();

    // Crash the broker (no clean disconnects, no persistence: retained messages are lost) and restart it.
    await broker.kill();
    broker = await startMosquitto({ port: broker.port });

    // Bridge back: availability and state republished on the fresh broker.
    const late = await Observer.connect(broker.url, ["invert/bridge/state", "invert/rt/state", "invert/rt/availability"]);
    await late.waitTopic("invert/bridge/state", (v) => v.state === "online", 20_000);
    await late.waitTopic("invert/rt/availability", (v) => v.state === "online", 20_000);
    await late.close();

    // Either the outage was shorter than the device watchdog and the session carried on (still inside
    // its limits; running, or held by the supervisor until telemetry has been on time again for a
    // while), or the link was lost and the device returned on its own: never anything else.
    const mid = bridge!.device("rt")!.state();
    if (mid.phase === "running" || mid.phase === "paused") {
      expect(sim.truth().tilt).toBeLessThanOrEqual(-59.5);
      expect(await obs.request("invert", "rt", "stop", { transaction: "halt" }, 10_000)).toMatchObject({ status: "ok" });
    }
    const t0 = Date.now();
    while (!(sim.truth().tilt < -79.5 && sim.truth().mode !== "moving" && sim.truth().mode !== "returning")) {
      if (Date.now() - t0 > 40_000) throw new Error(`device not upright (phase was ${mid.phase}): ${JSON.stringify(sim.truth())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitFor(() => ["aborted", "fault", "completed", "idle"].includes(bridge!.device("rt")!.state().phase), 20_000, "session end");
    const st = bridge!.device("rt")!.state();

    // A redelivery of the original request (same transaction, same signature) gets the cached answer.
    const before = sim.actedCommands();
    expect(await obs.request("invert", "rt", "start", req, 10_000)).toMatchObject({ transaction: "once", status: "ok" });
    expect(bridge!.device("rt")!.state().phase).toBe(st.phase);
    expect(sim.actedCommands()).toBe(before);
    expect(before).toBeGreaterThanOrEqual(acted);
    // The same signature with a new transaction is a replay and is refused.
    expect(await obs.request("invert", "rt", "start", { ...req, transaction: "again" }, 10_000)).toMatchObject({ status: "error" });
  });
});
