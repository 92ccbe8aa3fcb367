// The broker ACL shipped in docs/mosquitto/acl.conf, on a real mosquitto with the bridge, a simulated
// device and a home client each under its own user: the home client runs a signed session through the
// bridge's request topics, but a raw `move` it publishes on the device's own command topic never reaches
// the device (the same frame from the bridge's user does), and a device cannot speak for another.
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import mqtt from "mqtt";
import { afterEach, beforeEach, expect, it } from "vitest";
import { RealClock } from "../../protocol/index.js";
import { MqttTransport } from "../../protocol/transport/mqtt.js";
import { createSimDevice, type SimDevice } from "../../device-sim/index.js";
import { signCommand } from "../../src/bridge/signing.js";
import { startMosquitto, type MosquittoBroker } from "../helpers/mosquitto.js";
import { describeIfTool, toolPath } from "../helpers/real-io.js";
import { Observer, spawnBridge, type BridgeProcess } from "./helpers.js";

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const KEY_HEX = "5a".repeat(32);
const KEY = Buffer.from(KEY_HEX, "hex");
const PW = { "invert-bridge": "bridge-pw", home: "home-pw", tbl: "tbl-pw", t2: "t2-pw" } as const;
const PROGRAM = { name: "acl-test", steps: [{ type: "ramp", to: -70, speed: 10 }, { type: "hold", seconds: 600 }] };

async function publishAs(url: string, user: keyof typeof PW, topic: string, payload: string): Promise<void> {
  const c = await mqtt.connectAsync(url, { username: user, password: PW[user], reconnectPeriod: 0 });
  // QoS 1: the broker has taken the message (or silently dropped it under the ACL) when this resolves.
  await c.publishAsync(topic, payload, { qos: 1 });
  await c.endAsync();
}

describeIfTool(["mosquitto", "mosquitto_passwd"], "the shipped broker ACL (mosquitto)", () => {
  let dir: string;
  let broker: MosquittoBroker;
  let sim: SimDevice;
  let transport: MqttTransport;
  let bridge: BridgeProcess;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "invert-acl-"));
    const pw = join(dir, "passwd");
    const acl = join(dir, "acl.conf");
    let first = true;
    for (const [user, pass] of Object.entries(PW)) {
      await run(toolPath("mosquitto_passwd")!, ["-b", ...(first ? ["-c"] : []), pw, user, pass]);
      first = false;
    }
    copyFileSync(join(ROOT, "docs/mosquitto/acl.conf"), acl);
    // mosquitto drops root privileges before reading the files.
    chmodSync(dir, 0o755);
    chmodSync(pw, 0o644);
    chmodSync(acl, 0o644);
    broker = await startMosquitto({ extraConf: ["allow_anonymous false", `password_file ${pw}`, `acl_file ${acl}`] });
    transport = await MqttTransport.connect({ url: broker.url, deviceId: "tbl", role: "device", username: "tbl", password: PW.tbl });
    sim = createSimDevice({ clock: new RealClock(), transport, seed: 5 });
    const bridgeUrl = broker.url.replace("mqtt://", `mqtt://invert-bridge:${PW["invert-bridge"]}@`);
    bridge = spawnBridge([
      "--mqtt", broker.url, "--username", "invert-bridge", "--password", PW["invert-bridge"],
      "--device", `${bridgeUrl}/tbl`, "--device-key", `tbl=${KEY_HEX}`, "--bridge-id", "acl",
    ]);
  });

  afterEach(async () => {
    await bridge.kill();
    sim.stop();
    await transport.close();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets a home client drive sessions through the bridge only, and keeps it and other devices off a device's topics", async () => {
    const homeUrl = broker.url.replace("mqtt://", `mqtt://home:${PW.home}@`);
    const home = await Observer.connect(homeUrl, ["invert/#"]);
    try {
      try {
        await home.waitTopic("invert/tbl/availability", (v) => v.state === "online", 20_000);
      } catch (e) {
        throw new Error(`${(e as Error).message}\nbridge stderr: ${bridge.log().slice(-2000)}`);
      }
      // The home client sees what the bridge publishes, and nothing of the device's own channels.
      expect((await home.waitTopic("invert/tbl/state", (v) => typeof v.angle === "number")).link).toBe("online");
      expect(home.count((m) => /^invert\/tbl\/(tlm|caps|status|ack|cmd)$/.test(m.topic))).toBe(0);

      // A signed start from the home client runs a session through the bridge; its stop ends it.
      const ok = await home.request("invert", "tbl", "start", signCommand({ transaction: "h1", program: PROGRAM }, KEY, Date.now(), { deviceId: "tbl", action: "start" }), 15_000);
      expect(ok).toMatchObject({ transaction: "h1", status: "ok" });
      expect(await home.request("invert", "tbl", "stop", { transaction: "h2" }, 10_000)).toMatchObject({ transaction: "h2", status: "ok" });
      await home.waitTopic("invert/tbl/state", (v) => v.phase === "aborted", 30_000);

      // Everything on the device's own topics, seen with the bridge's user (the home client may not read them).
      const acks: string[] = [];
      const onDevice: { topic: string; text: string }[] = [];
      const watcher = await mqtt.connectAsync(broker.url, { username: "invert-bridge", password: PW["invert-bridge"], reconnectPeriod: 0 });
      watcher.on("message", (topic, p) => {
        onDevice.push({ topic, text: p.toString() });
        if (topic === "invert/tbl/ack") acks.push((JSON.parse(p.toString()) as { id: string }).id);
      });
      await watcher.subscribeAsync("invert/tbl/#", { qos: 1 });
      try {
        const before = home.seen.length;
        const move = (id: string) => JSON.stringify({ v: 1, seq: 7, type: "move", id, axis: "tilt", target: -60, speed: 5 });
        // A raw move on the device's command topic from the home client, and a device speaking for
        // another (spoofed status and telemetry of tbl from device t2).
        await publishAs(broker.url, "home", "invert/tbl/cmd", move("rogue-1"));
        await publishAs(broker.url, "t2", "invert/tbl/status", JSON.stringify({ state: "offline" }));
        await publishAs(broker.url, "t2", "invert/tbl/tlm", JSON.stringify({ v: 1, seq: 1, type: "tlm", t: 1, tilt: 45, tilt2: 45, vel: 0, current: 0, lock: true, sw: "ok", mode: "idle", faults: [], rxErr: 0 }));
        // Control: the same frame from the bridge's user, sent after the others were taken by the
        // broker. The broker relays in the order it took messages and the device acks commands in the
        // order they arrive, so once this one is acked, anything of the above it passed on is in.
        await publishAs(broker.url, "invert-bridge", "invert/tbl/cmd", move("bridge-1"));
        const t0 = Date.now();
        while (!acks.includes("bridge-1")) {
          if (Date.now() - t0 > 10_000) throw new Error(`no ack for the bridge user's move; acks: ${acks.join(",")}`);
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(acks).not.toContain("rogue-1");
        expect(onDevice.filter((m) => m.text.includes("rogue-1") || m.text.includes('"tilt":45') || m.text.includes("offline"))).toEqual([]);
        // Nor did anything of it reach what the home client sees.
        expect(home.seen.slice(before).filter((m) => m.topic.startsWith("invert/tbl/") && /"angle":45|offline/.test(m.text))).toEqual([]);
      } finally {
        await watcher.endAsync();
      }
    } finally {
      await home.close();
    }
  });
});
