// Two `invert bridge` processes in one shared-subscription group on mosquitto, each serving its own
// simulated device over MQTT: requests reach the right owner exactly once wherever the broker hands
// them, and when one process is killed its devices are reported as served by nobody.
import { afterEach, beforeEach, expect, it } from "vitest";
import { RealClock } from "../../protocol/index.js";
import { MqttTransport } from "../../protocol/transport/mqtt.js";
import { createSimDevice, type SimDevice } from "../../device-sim/index.js";
import { signCommand } from "../../src/bridge/signing.js";
import { startMosquitto, type MosquittoBroker } from "../helpers/mosquitto.js";
import { describeIfTool } from "../helpers/real-io.js";
import { Observer, spawnBridge, type BridgeProcess } from "./helpers.js";

const KEY_HEX = "77".repeat(32);
const KEY = Buffer.from(KEY_HEX, "hex");
const PROGRAM = { name: "share-test", steps: [{ type: "ramp", to: -70, speed: 10 }, { type: "hold", seconds: 600 }] };

describeIfTool(["mosquitto"], "two invert bridge processes sharing a group on mosquitto", () => {
  let broker: MosquittoBroker;
  let obs: Observer;
  const sims = new Map<string, SimDevice>();
  const transports: MqttTransport[] = [];
  const children = new Map<string, BridgeProcess>();

  beforeEach(async () => {
    broker = await startMosquitto();
    obs = await Observer.connect(broker.url, ["invert/#"]);
    for (const id of ["d1", "d2"]) {
      const transport = await MqttTransport.connect({ url: broker.url, deviceId: id, role: "device" });
      transports.push(transport);
      sims.set(id, createSimDevice({ clock: new RealClock(), transport, seed: id === "d1" ? 1 : 2, config: { tilt: { approachSpeed: 4, returnSpeed: 8 } } }));
    }
    for (const [bridgeId, dev] of [["pa", "d1"], ["pb", "d2"]] as const) {
      children.set(bridgeId, spawnBridge([
        "--mqtt", broker.url, "--group", "clinic", "--bridge-id", bridgeId,
        "--device", `${broker.url}/${dev}`, "--device-key", `${dev}=${KEY_HEX}`,
      ]));
    }
  });

  afterEach(async () => {
    for (const c of children.values()) await c.kill();
    children.clear();
    for (const s of sims.values()) s.stop();
    sims.clear();
    for (const t of transports.splice(0)) await t.close();
    await obs.close();
    await broker.stop();
  });

  it("answers each request once from the owner, and reports devices of a killed process as unserved", async () => {
    try {
      for (const b of ["pa", "pb"]) {
        await obs.waitTopic(`invert/bridge/${b}/state`, (v) => v.state === "online", 20_000);
        await obs.waitTopic(`invert/bridge/${b}/info`, () => true, 20_000);
      }
      await obs.waitTopic("invert/d1/availability", (v) => v.state === "online", 20_000);
      await obs.waitTopic("invert/d2/availability", (v) => v.state === "online", 20_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\npa: ${children.get("pa")!.log().slice(-1000)}\npb: ${children.get("pb")!.log().slice(-1000)}`);
    }
    // Unsigned, motionless requests, many times: each gets exactly one answer, and it is "ok".
    // Three per round (d1, d1, d2): a strict alternation would line up with the broker's round robin.
    for (let i = 0; i < 6; i++) {
      for (const [k, id] of ["d1", "d1", "d2"].entries()) {
        const tx = `${id}-${i}-${k}`;
        expect(await obs.request("invert", id, "select", { transaction: tx, program: "beginner" })).toEqual({ transaction: tx, status: "ok" });
      }
    }
    expect(obs.count((m) => m.topic.endsWith("/response/select"))).toBe(18);
    // Some of them crossed over to the other process and were forwarded to the owner.
    expect(obs.count((m) => /^invert\/bridge\/p[ab]\/forward\//.test(m.topic))).toBeGreaterThan(0);

    // A signed start on d2 moves d2 only.
    const ok = await obs.request("invert", "d2", "start", signCommand({ transaction: "go", program: PROGRAM }, KEY, Date.now(), { deviceId: "d2", action: "start" }), 10_000);
    expect(ok).toMatchObject({ status: "ok" });
    await obs.waitTopic("invert/d2/state", (v) => typeof v.angle === "number" && v.angle > -75, 15_000);
    expect(sims.get("d1")!.truth().tilt).toBeLessThan(-79);
    expect(await obs.request("invert", "d2", "stop", { transaction: "halt" })).toMatchObject({ status: "ok" });

    // Kill the owner of d1: its last will says offline, and d1 is now served by nobody.
    const from = obs.seen.length;
    children.get("pa")!.child.kill("SIGKILL");
    await obs.waitTopic("invert/bridge/pa/state", (v) => v.state === "offline", 15_000, from);
    const r = await obs.request("invert", "d1", "stop", { transaction: "orphan" }, 10_000);
    expect(r).toMatchObject({ transaction: "orphan", status: "error", reason: expect.stringMatching(/unknown device "d1"/) });
    expect(await obs.request("invert", "d2", "select", { transaction: "still", program: "beginner" })).toEqual({ transaction: "still", status: "ok" });
  });
});
