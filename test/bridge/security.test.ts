// Security plumbing around the bridge: the `invert bridge sign` helper produces payloads the verifier
// accepts, and the bridge connects to a broker that requires a username and password (and fails with one
// clear line when they are wrong).
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { RealClock } from "../../protocol/index.js";
import { startBridge } from "../../src/bridge/bridge.js";
import { loadBridgeConfig } from "../../src/bridge/config.js";
import { CommandVerifier } from "../../src/bridge/signing.js";
import { startMosquitto } from "../helpers/mosquitto.js";
import { describeIfTool, toolPath } from "../helpers/real-io.js";
import { FakeDevice, Observer } from "./helpers.js";

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const KEY_HEX = "66".repeat(32);

describe("invert bridge sign", () => {
  it("prints a payload the bridge's verifier accepts once", async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, "bin/invert.js"), "bridge", "sign", "t7", "start", "--key", KEY_HEX, "--body", '{"program":"beginner"}', "--transaction", "x1"]);
    const payload = JSON.parse(stdout) as Record<string, unknown>;
    expect(payload).toMatchObject({ program: "beginner", transaction: "x1" });
    const v = new CommandVerifier({ clock: { now: () => Date.now() } });
    const key = Buffer.from(KEY_HEX, "hex");
    expect(v.verify("t7", "start", payload, key)).toEqual({ ok: true });
    expect(v.verify("t7", "start", payload, key)).toMatchObject({ ok: false, code: "replayed" });
  });

  it("refuses a bad key with one line naming the option", async () => {
    const r = await run(process.execPath, [join(ROOT, "bin/invert.js"), "bridge", "sign", "t7", "start", "--key", "abcd"]).catch((e: { stderr: string; code: number }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr.trim()).toBe("invert: --key: must be at least 16 bytes (got 2)");
  });

  it("refuses a config error with exit status 2 and the field named", async () => {
    const r = await run(process.execPath, [join(ROOT, "bin/invert.js"), "bridge", "--mqtt", "http://x", "--device", "sim"]).catch((e: { stderr: string; code: number }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr.trim()).toMatch(/^invert: mqtt\.url: must be mqtt:\/\//);
  });
});

describeIfTool(["mosquitto", "mosquitto_passwd"], "bridge with broker credentials (mosquitto)", () => {
  it("connects with the right password and names the failure with a wrong one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "invert-pw-"));
    const pw = join(dir, "passwd");
    await run(toolPath("mosquitto_passwd")!, ["-b", "-c", pw, "bridge", "s3cret"]);
    // mosquitto drops root privileges before reading the file.
    chmodSync(dir, 0o755);
    chmodSync(pw, 0o644);
    const broker = await startMosquitto({ extraConf: ["allow_anonymous false", `password_file ${pw}`] });
    try {
      const base = { mqtt: broker.url, device: ["mqtt://127.0.0.1:1/t1"], bridgeId: "pw" };
      const bad = loadBridgeConfig({ ...base, username: "bridge", password: "wrong" });
      await expect(startBridge({ config: bad, clock: new RealClock(), createDevice: (d) => new FakeDevice(d.id), programNames: [], version: "t", log: () => undefined }))
        .rejects.toThrow(/^mqtt mqtt:\/\/127\.0\.0\.1:\d+: .*(Not authorized|Bad username or password)/i);
      const good = loadBridgeConfig({ ...base, username: "bridge", password: "s3cret" });
      const b = await startBridge({ config: good, clock: new RealClock(), createDevice: (d) => new FakeDevice(d.id), programNames: [], version: "t", log: () => undefined });
      const url = broker.url.replace("mqtt://", "mqtt://bridge:s3cret@");
      const obs = await Observer.connect(url, ["invert/bridge/state"]);
      await obs.waitTopic("invert/bridge/state", (v) => v.state === "online");
      await obs.close();
      await b.stop();
    } finally {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
