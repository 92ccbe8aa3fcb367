// `invert bridge`: the long-running MQTT bridge, and `invert bridge sign` to sign motion requests.
import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { BridgeConfigError, loadBridgeConfig, type BridgeFlags } from "../../bridge/config.js";
import { parseKey, signCommand } from "../../bridge/signing.js";
import { REQUEST_ACTIONS } from "../../bridge/topics.js";

const collect = (v: string, prev: string[] = []) => [...prev, v];
/** Bad input: exit status 2 (see exit-codes.ts). */
const usage = (msg: string) => Object.assign(new Error(msg), { exitCode: 2 });

export function register(program: Command): void {
  const bridge = program
    .command("bridge")
    .description("serve devices on MQTT: retained state, availability, signed requests, Home Assistant discovery")
    .option("-d, --device <uri>", "device to serve (repeatable): sim, serial:/dev/ttyUSB0, mqtt://host:port/<id>", collect)
    .option("-m, --mqtt <url>", "broker URL: mqtt://[user:pass@]host:port or mqtts://...")
    .option("-c, --config <file>", "YAML config (flags override it)")
    .option("-b, --base <topic>", "base topic (default invert)")
    .option("--homeassistant", "publish Home Assistant MQTT discovery")
    .option("--ha-prefix <prefix>", "Home Assistant discovery prefix (default homeassistant)")
    .option("--username <name>", "MQTT username")
    .option("--password <secret>", "MQTT password (prefer the config file or INVERT_MQTT_PASSWORD)")
    .option("--tls-ca <file>", "CA certificate (PEM) for mqtts://")
    .option("--tls-cert <file>", "client certificate (PEM)")
    .option("--tls-key <file>", "client private key (PEM)")
    .option("--group <name>", "shared-subscription group for several bridge processes (mosquitto)")
    .option("--bridge-id <id>", "stable id of this bridge process (default: host name)")
    .option("--device-key <id=key>", "signing key of a device, hex or base64 (repeatable)", collect)
    .addOption(new Option("--speed <factor>", "time factor for simulated devices").argParser(Number).hideHelp())
    .addHelpText(
      "after",
      `
Examples:
  invert bridge --mqtt mqtt://localhost:1883 --device sim
  invert bridge --mqtt mqtt://broker:1883 --device mqtt://broker:1883/table-1 --device-key table-1=$(cat table-1.key) --homeassistant
  invert bridge --config bridge.yaml
  invert bridge --config bridge.yaml --group clinic     (several processes share the devices)

Requests: <base>/<id>/request/<action> (start, pause, resume, stop, discomfort, return, select);
start and resume must be signed (see \`invert bridge sign --help\`). Details: docs/bridge.md.`,
    )
    .action(async (o: Omit<BridgeFlags, "ca" | "cert" | "key"> & { tlsCa?: string; tlsCert?: string; tlsKey?: string; speed?: number }) => {
      const { tlsCa, tlsCert, tlsKey, speed, ...rest } = o;
      const flags: BridgeFlags = { ...rest, ca: tlsCa, cert: tlsCert, key: tlsKey, password: o.password ?? process.env.INVERT_MQTT_PASSWORD };
      let config;
      try {
        config = loadBridgeConfig(flags);
      } catch (e) {
        if (e instanceof BridgeConfigError) throw usage(e.message);
        throw e;
      }
      // Loaded lazily: the signing helper must work without the device stack.
      const { runBridgeService } = await import("../../bridge/service.js");
      await runBridgeService(config, { speed }).catch((e: unknown) => {
        // The broker is unreachable or refused us: a link error (exit status 3), not a bug.
        if (e instanceof Error && e.message.startsWith("mqtt ")) throw Object.assign(new Error(e.message), { exitCode: 3 });
        throw e;
      });
    });

  bridge
    .command("sign")
    .description("print a signed request payload (JSON) for mosquitto_pub -m")
    .argument("<deviceId>", "device id")
    .argument("<action>", "start or resume")
    .option("--key <key>", "device key, hex or base64 (or INVERT_DEVICE_KEY)")
    .option("--key-file <file>", "file holding the device key")
    .option("--body <json>", "request fields, e.g. '{\"program\":\"beginner\"}'", "{}")
    .option("--transaction <id>", "transaction id echoed in the response")
    .addHelpText(
      "after",
      `
Examples:
  invert bridge sign table-1 start --key-file table-1.key --body '{"program":"beginner","profile":"ann"}'
  mosquitto_pub -t invert/table-1/request/start -m "$(invert bridge sign table-1 start --key-file table-1.key)"`,
    )
    .action((deviceId: string, action: string, o: { key?: string; keyFile?: string; body: string; transaction?: string }) => {
      if (!(REQUEST_ACTIONS as readonly string[]).includes(action)) throw usage(`action: "${action}" is not one of ${REQUEST_ACTIONS.join(", ")}`);
      let keyText = o.key ?? process.env.INVERT_DEVICE_KEY;
      if (o.keyFile) {
        try {
          keyText = readFileSync(o.keyFile, "utf8");
        } catch (e) {
          throw usage(`--key-file: cannot read ${o.keyFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
      }
      if (!keyText) throw usage("--key: required (or --key-file, or INVERT_DEVICE_KEY)");
      let key: Buffer;
      try {
        key = parseKey(keyText);
      } catch (e) {
        throw usage(`--key: ${(e as Error).message}`);
      }
      let body: unknown;
      try {
        body = JSON.parse(o.body);
      } catch (e) {
        throw usage(`--body: invalid JSON (${(e as Error).message})`);
      }
      if (!body || typeof body !== "object" || Array.isArray(body)) throw usage("--body: must be a JSON object");
      const payload = { ...(body as Record<string, unknown>), ...(o.transaction ? { transaction: o.transaction } : {}) };
      process.stdout.write(JSON.stringify(signCommand(payload, key, Date.now(), { deviceId, action })) + "\n");
    });
}
