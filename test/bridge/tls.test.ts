// The bridge over mqtts:// to a mosquitto that requires a client certificate: the CA, certificate and key
// files from the config are used, and a bridge without them fails with one clear line.
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import mqtt from "mqtt";
import { expect, it } from "vitest";
import { RealClock } from "../../protocol/index.js";
import { startBridge } from "../../src/bridge/bridge.js";
import { loadBridgeConfig } from "../../src/bridge/config.js";
import { startMosquitto } from "../helpers/mosquitto.js";
import { describeIfTool, toolPath } from "../helpers/real-io.js";
import { FakeDevice } from "./helpers.js";

const run = promisify(execFile);

async function makePki(dir: string): Promise<void> {
  const ssl = toolPath("openssl")!;
  const o = (args: string[]) => run(ssl, args, { cwd: dir });
  await o(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=invert-test-ca"]);
  writeFileSync(join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
  for (const name of ["server", "client"]) {
    await o(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name === "server" ? "127.0.0.1" : "invert-bridge"}`]);
    await o(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", "san.ext"]);
  }
  // mosquitto drops root privileges before reading its files.
  chmodSync(dir, 0o755);
  for (const f of ["ca.pem", "server.pem", "server.key"]) chmodSync(join(dir, f), 0o644);
}

describeIfTool(["mosquitto", "openssl"], "bridge over TLS with a client certificate (mosquitto)", () => {
  it("connects with CA, certificate and key, and fails clearly without the client certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "invert-tls-"));
    await makePki(dir);
    const broker = await startMosquitto({
      extraConf: [`cafile ${join(dir, "ca.pem")}`, `certfile ${join(dir, "server.pem")}`, `keyfile ${join(dir, "server.key")}`, "require_certificate true"],
    });
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const common = { mqtt: url, device: ["mqtt://127.0.0.1:1/t1"], bridgeId: "tls", ca: join(dir, "ca.pem") };
    const opts = { clock: new RealClock(), createDevice: (d: { id: string }) => new FakeDevice(d.id), programNames: [], version: "t", log: () => undefined };
    try {
      await expect(startBridge({ ...opts, config: loadBridgeConfig(common) })).rejects.toThrow(/^mqtt mqtts:\/\/127\.0\.0\.1:\d+: /);
      const bridge = await startBridge({ ...opts, config: loadBridgeConfig({ ...common, cert: join(dir, "client.pem"), key: join(dir, "client.key") }) });
      const watcher = await mqtt.connectAsync(url, {
        ca: readFileSync(join(dir, "ca.pem")), cert: readFileSync(join(dir, "client.pem")), key: readFileSync(join(dir, "client.key")), reconnectPeriod: 0,
      });
      const online = new Promise<string>((resolve) => watcher.on("message", (_t, p) => resolve(p.toString())));
      await watcher.subscribeAsync("invert/bridge/state", { qos: 1 });
      expect(JSON.parse(await online)).toEqual({ state: "online" });
      await watcher.endAsync();
      await bridge.stop();
    } finally {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
