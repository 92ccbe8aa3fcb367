// The acceptance path with real processes: mosquitto, a simulated device over MQTT, and
// `invert bridge` as a child process. Discovery and retained state are visible to any subscriber, a
// signed start runs, an unsigned one is refused with a reason, and SIGKILL on the bridge leaves
// `offline` retained while the device's watchdog brings it upright on its own.
import { afterEach, beforeEach, expect, it } from "vitest";
import { RealClock } from "../../protocol/index.js";
import { MqttTransport } from "../../protocol/transport/mqtt.js";
import { createSimDevice, type SimDevice } from "../../device-sim/index.js";
import { signCommand } from "../../src/bridge/signing.js";
import { startMosquitto, type MosquittoBroker } from "../helpers/mosquitto.js";
import { describeIfTool } from "../helpers/real-io.js";
import { Observer, spawnBridge, type BridgeProcess } from "./helpers.js";

const KEY_HEX = "44".repeat(32);
const KEY = Buffer.from(KEY_HEX, "hex");
/** Head-up and short of upright, so the watchdog's return is a few seconds of real time. */
const PROGRAM = { name: "kill-test", steps: [{ type: "ramp", to: -60, speed: 10 }, { type: "hold", seconds: 600 }] };

describeIfTool(["mosquitto"], "invert bridge process with mosquitto and a simulator over MQTT", () => {
  let broker: MosquittoBroker;
  let obs: Observer;
  let sim: SimDevice;
  let transport: MqttTransport;
  let bridge: BridgeProcess;

  beforeEach(async () => {
    broker = await startMosquitto();
    obs = await Observer.connect(broker.url, ["invert/#", "homeassistant/#"]);
    transport = await MqttTransport.connect({ url: broker.url, deviceId: "tbl", role: "device" });
    sim = createSimDevice({ clock: new RealClock(), transport, seed: 3, config: { tilt: { approachSpeed: 4, returnSpeed: 8 } } });
    bridge = spawnBridge([
      "--mqtt", broker.url, "--device", `${broker.url}/tbl`,
      "--device-key", `tbl=${KEY_HEX}`, "--homeassistant", "--bridge-id", "proc1",
    ]);
  });

  afterEach(async () => {
    await bridge.kill();
    sim.stop();
    await transport.close();
    await obs.close();
    await broker.stop();
  });

  it("publishes discovery and state, refuses unsigned, runs signed, and survives SIGKILL safely", async () => {
    try {
      await obs.waitTopic("invert/bridge/state", (v) => v.state === "online", 20_000);
      await obs.waitTopic("invert/tbl/availability", (v) => v.state === "online", 20_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nbridge stderr: ${bridge.log().slice(-2000)}`);
    }
    const disc = await obs.waitTopic("homeassistant/sensor/tbl/angle/config", () => true, 10_000);
    expect(disc).toMatchObject({ state_topic: "invert/tbl/state" });
    const late = await Observer.connect(broker.url, ["invert/tbl/state", "homeassistant/button/tbl/stop/config"]);
    expect((await late.wait((m) => m.topic === "invert/tbl/state", "retained state")).retain).toBe(true);
    expect((await late.wait((m) => m.topic === "homeassistant/button/tbl/stop/config", "retained discovery")).retain).toBe(true);
    await late.close();

    const unsigned = await obs.request("invert", "tbl", "start", { transaction: "u", program: PROGRAM });
    expect(unsigned).toMatchObject({ transaction: "u", status: "error", reason: expect.stringMatching(/^unsigned/) });
    const ok = await obs.request("invert", "tbl", "start", signCommand({ transaction: "s", program: PROGRAM }, KEY, Date.now(), { deviceId: "tbl", action: "start" }), 10_000);
    expect(ok).toMatchObject({ transaction: "s", status: "ok" });
    await obs.waitTopic("invert/tbl/state", (v) => typeof v.angle === "number" && v.angle > -72, 15_000);
    expect(sim.truth().tilt).toBeGreaterThan(-75);

    const from = obs.seen.length;
    bridge.child.kill("SIGKILL");
    await obs.waitTopic("invert/bridge/state", (v) => v.state === "offline", 15_000, from);
    const after = await Observer.connect(broker.url, ["invert/bridge/state"]);
    const lw = await after.wait((m) => m.topic === "invert/bridge/state", "retained last will");
    expect(lw.retain).toBe(true);
    expect(JSON.parse(lw.text)).toEqual({ state: "offline" });
    await after.close();

    // Nobody drives the device now: its watchdog returns it upright on its own.
    const start = Date.now();
    while (!(sim.truth().tilt < -79.5 && sim.truth().mode !== "moving" && sim.truth().mode !== "returning")) {
      if (Date.now() - start > 30_000) throw new Error(`device did not return upright: ${JSON.stringify(sim.truth())}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sim.truth().tilt).toBeGreaterThan(-80.5);
  });
});
