// Generates the machine-readable protocol artifacts from the zod schemas and the fault table, so they
// can never drift from the code: JSON Schema (draft-07) per message, the AsyncAPI 3.0 document of the
// MQTT mapping, and the fault table inside PROTOCOL.md. `npm run gen:protocol` writes them; a test
// compares the committed files with `generateArtifacts()`.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { z } from "zod";
import { FAULTS, type FaultSpec } from "../faults.js";
import { ACK_RETRIES, ACK_TIMEOUT_MS, DEFAULT_HEARTBEAT_MS, DEFAULT_WATCHDOG_MS, MAX_LINE_BYTES } from "../constants.js";
import { COMPANION_TYPES, DEVICE_TYPES, SCHEMAS, type MsgType } from "../messages.js";
import { CHANNELS, DEFAULT_ROOT, OFFLINE, channelFor, type Channel } from "../mqtt-topics.js";

/** Repository root, from this file's location (protocol/gen/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const DESCRIPTIONS: Record<MsgType, string> = {
  hello: "Companion -> device: starts the handshake; lists the protocol major versions the companion speaks.",
  hb: `Companion -> device: heartbeat, every ${DEFAULT_HEARTBEAT_MS} ms. Any valid frame feeds the device watchdog.`,
  move: "Companion -> device: move the tilt axis to `target` degrees (0 horizontal, positive head-down) at `speed` deg/s.",
  force: "Companion -> device: ramp the traction axis to `target` newtons at `rate` N/s.",
  stop: "Companion -> device: controlled deceleration of every axis, then hold. Always accepted.",
  return: "Companion -> device: slow return to upright and zero force with the firmware's own safe profile.",
  limits: "Companion -> device: soft limits; each must lie inside the device's hard limits.",
  clear: "Companion -> device: clear a latched fault once its cause is gone.",
  caps: "Device -> companion: model, axes and hard limits; sent for every hello and once after every boot (new `boot`).",
  ack: "Device -> companion: result of a command (accepted, then done; or rejected/busy/unsupported/failed with a reason).",
  tlm: "Device -> companion: telemetry at tlmHz (default 10 Hz) in every mode.",
  evt: "Device -> companion: an event or fault from the code table, once per occurrence.",
};

/** The retained availability payload on the status topic (not a framed message: no header). */
export const StatusPayload = z.object({ state: z.enum(["online", "offline"]) });

export function messageSchema(type: MsgType): Record<string, unknown> {
  // io "input": receivers accept (and ignore) unknown fields, so the schema must not forbid them.
  const js = z.toJSONSchema(SCHEMAS[type], { target: "draft-07", io: "input" }) as Record<string, unknown>;
  const { $schema, ...rest } = js;
  return { $schema, $id: `https://invert.invalid/protocol/v1/${type}.json`, title: type, description: DESCRIPTIONS[type], ...rest };
}

function statusSchema(): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(StatusPayload, { target: "draft-07", io: "input" }) as Record<string, unknown>;
  return { title: "status", description: "Retained device availability; the offline value is also the last will.", ...rest };
}

const DRAFT7 = "application/schema+json;version=draft-07";
const BINDING_VERSION = "0.2.0";

const CHANNEL_TEXT: Record<Channel, string> = {
  cmd: "Commands, hello and heartbeats from the companion to the device.",
  ack: "Command acknowledgements from the device.",
  tlm: "Telemetry from the device; QoS 0, a lost sample is replaced by the next.",
  evt: "Events and faults from the device.",
  caps: "Device capabilities, retained so a late companion gets them at once.",
  status: "Device availability, retained; the broker publishes offline as the device's last will.",
};

/** The AsyncAPI document, from the device's point of view: it receives on cmd and sends on the rest. */
export function asyncApiDocument(): Record<string, unknown> {
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const type of [...COMPANION_TYPES, ...DEVICE_TYPES]) {
    const { $schema: _s, $id: _i, ...schema } = messageSchema(type);
    schemas[type] = schema;
    messages[type] = {
      name: type,
      title: type,
      summary: DESCRIPTIONS[type],
      contentType: "application/json",
      payload: { schemaFormat: DRAFT7, schema: { $ref: `#/components/schemas/${type}` } },
    };
  }
  schemas.status = statusSchema();
  messages.status = {
    name: "status",
    title: "status",
    summary: "Device availability: online, or offline (also the last will).",
    contentType: "application/json",
    payload: { schemaFormat: DRAFT7, schema: { $ref: "#/components/schemas/status" } },
  };

  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  for (const ch of Object.keys(CHANNELS) as Channel[]) {
    const spec = CHANNELS[ch];
    const types: string[] = ch === "status" ? ["status"] : [...COMPANION_TYPES, ...DEVICE_TYPES].filter((t) => channelFor(t) === ch);
    channels[ch] = {
      address: `${DEFAULT_ROOT}/{deviceId}/${ch}`,
      title: ch,
      description: CHANNEL_TEXT[ch],
      parameters: { deviceId: { $ref: "#/components/parameters/deviceId" } },
      messages: Object.fromEntries(types.map((t) => [t, { $ref: `#/components/messages/${t}` }])),
    };
    const receive = spec.direction === "toDevice";
    operations[`${receive ? "receive" : "send"}${ch[0].toUpperCase()}${ch.slice(1)}`] = {
      action: receive ? "receive" : "send",
      title: `${receive ? "Receive" : "Send"} ${ch}`,
      summary: CHANNEL_TEXT[ch],
      channel: { $ref: `#/channels/${ch}` },
      messages: types.map((t) => ({ $ref: `#/channels/${ch}/messages/${t}` })),
      bindings: { mqtt: { qos: spec.qos, retain: spec.retain, bindingVersion: BINDING_VERSION } },
    };
  }

  return {
    asyncapi: "3.0.0",
    info: {
      title: "invert device protocol (MQTT mapping)",
      version: "1.0.0",
      description:
        "The invert wire protocol v1 over MQTT, seen from the device: it receives commands on cmd and publishes the rest. " +
        "Payloads are the serial frames' JSON without the *CRC suffix. " +
        `Heartbeat every ${DEFAULT_HEARTBEAT_MS} ms, device watchdog ${DEFAULT_WATCHDOG_MS} ms, ack timeout ${ACK_TIMEOUT_MS} ms with ${ACK_RETRIES} retries ` +
        `of the same id; payloads over ${MAX_LINE_BYTES} bytes are dropped. The full specification is PROTOCOL.md.`,
      license: { name: "MIT" },
    },
    defaultContentType: "application/json",
    servers: {
      broker: {
        host: "localhost:1883",
        protocol: "mqtt",
        description: "Any MQTT 3.1.1 or 5 broker; mqtts on 8883 for TLS. TCP_NODELAY recommended on both ends.",
        bindings: {
          mqtt: {
            cleanSession: true,
            keepAlive: 5,
            lastWill: { topic: `${DEFAULT_ROOT}/{deviceId}/status`, qos: 1, message: OFFLINE, retain: true },
            bindingVersion: BINDING_VERSION,
          },
        },
      },
    },
    channels,
    operations,
    components: {
      parameters: { deviceId: { description: "Device id: 1-64 characters of A-Z a-z 0-9 _ -." } },
      schemas,
      messages,
    },
  };
}

const BEGIN = "<!-- BEGIN GENERATED: faults (npm run gen:protocol) -->";
const END = "<!-- END GENERATED: faults -->";

function cell(s: string): string {
  return s.replace(/\|/g, "\\|");
}

/** The fault table as Markdown, one row per code of protocol/faults.ts. */
export function faultTableMarkdown(): string {
  const rows = (Object.entries(FAULTS) as [string, FaultSpec][]).map(
    ([code, f]) => `| \`${code}\` | ${f.num} | ${f.severity} | ${f.latched ? "yes" : "no"} | ${cell(f.reaction)} | ${cell(f.clearWhen)} |`,
  );
  return ["| Code | No. | Severity | Latched | Firmware reaction | Cleared when |", "| --- | --- | --- | --- | --- | --- |", ...rows].join("\n");
}

/** PROTOCOL.md with its generated section replaced. */
export function renderProtocolDoc(current: string): string {
  const b = current.indexOf(BEGIN);
  const e = current.indexOf(END);
  if (b < 0 || e < b) throw new Error("PROTOCOL.md: generated-section markers for the fault table are missing");
  return `${current.slice(0, b + BEGIN.length)}\n${faultTableMarkdown()}\n${current.slice(e)}`;
}

/** Every generated file, keyed by its path relative to the repository root. */
export function generateArtifacts(root = REPO_ROOT): Record<string, string> {
  const out: Record<string, string> = {};
  for (const type of [...COMPANION_TYPES, ...DEVICE_TYPES]) {
    out[`protocol/schemas/${type}.json`] = JSON.stringify(messageSchema(type), null, 2) + "\n";
  }
  out["protocol/schemas/status.json"] =
    JSON.stringify({ $schema: "http://json-schema.org/draft-07/schema#", $id: "https://invert.invalid/protocol/v1/status.json", ...statusSchema() }, null, 2) + "\n";
  out["protocol/asyncapi.yaml"] =
    "# Generated by `npm run gen:protocol` from protocol/messages.ts and protocol/mqtt-topics.ts. Do not edit.\n" +
    stringify(asyncApiDocument(), { lineWidth: 0 });
  out["protocol/PROTOCOL.md"] = renderProtocolDoc(readFileSync(join(root, "protocol/PROTOCOL.md"), "utf8"));
  return out;
}

function main(): void {
  const files = generateArtifacts();
  for (const [rel, content] of Object.entries(files)) {
    const p = join(REPO_ROOT, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  console.log(`wrote ${Object.keys(files).length} files`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
