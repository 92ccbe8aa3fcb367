// Bridge configuration: a YAML file validated with zod (errors name the field path), with command-line
// flags layered on top. Keys are resolved to bytes here, so the rest of the bridge never sees key text.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { isValidDeviceId } from "../../protocol/index.js";
import { DeviceUriError, parseDeviceUri } from "../link/device-uri.js";
import { parseKey } from "./signing.js";

export class BridgeConfigError extends Error {
  override name = "BridgeConfigError";
}

const Topic = z.string().min(1).max(100).regex(/^[^#+$\s][^#+\s]*$/, "must not contain #, + or spaces, nor start with $").refine((s) => !s.endsWith("/"), "must not end with /");
const Limit = z.object({
  tiltMin: z.number().optional(),
  tiltMax: z.number().optional(),
  speedMax: z.number().positive().optional(),
  forceMax: z.number().nonnegative().optional(),
  rateMax: z.number().positive().optional(),
}).strict();

/** Device ids that name the bridge's own topics (`<base>/bridge/...`); see topics.ts. */
export const RESERVED_DEVICE_IDS: ReadonlySet<string> = new Set(["bridge"]);

const DeviceEntry = z.object({
  uri: z.string().min(1),
  id: z.string().refine(isValidDeviceId, "must be 1-64 characters of A-Z a-z 0-9 _ -").refine((s) => !RESERVED_DEVICE_IDS.has(s), '"bridge" is reserved').optional(),
  key: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
  name: z.string().max(64).optional(),
  /** Soft limits applied to every session started through the bridge (strictest of these and the profile's). */
  limits: Limit.optional(),
}).strict().refine((d) => !(d.key && d.keyFile), { message: "give key or keyFile, not both", path: ["key"] });

export const BridgeConfigSchema = z.object({
  mqtt: z.object({
    url: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, "must be mqtt://, mqtts://, ws:// or wss:// URL"),
    username: z.string().optional(),
    password: z.string().optional(),
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    rejectUnauthorized: z.boolean().default(true),
    clientId: z.string().max(64).optional(),
  }).strict(),
  base: Topic.default("invert"),
  /** Identity of this bridge process among several; defaults to a host-derived name. */
  bridgeId: z.string().refine(isValidDeviceId, "must be 1-64 characters of A-Z a-z 0-9 _ -").optional(),
  /** Shared-subscription group: bridges with the same group split the request load (see docs/bridge.md). */
  group: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 _ -").optional(),
  homeassistant: z.object({
    enabled: z.boolean().default(false),
    prefix: Topic.default("homeassistant"),
  }).strict().default({ enabled: false, prefix: "homeassistant" }),
  /** Maximum rate of retained state updates per device (phase changes are published at once). */
  stateHz: z.number().positive().max(50).default(2),
  devices: z.array(DeviceEntry).default([]),
}).strict();

export type BridgeFileConfig = z.infer<typeof BridgeConfigSchema>;

export interface ResolvedDevice {
  uri: string;
  id: string;
  name?: string;
  key?: Buffer;
  limits?: z.infer<typeof Limit>;
}

export interface BridgeConfig extends Omit<BridgeFileConfig, "devices"> {
  bridgeId: string;
  devices: ResolvedDevice[];
}

export interface BridgeFlags {
  config?: string;
  mqtt?: string;
  device?: string[];
  base?: string;
  homeassistant?: boolean;
  haPrefix?: string;
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
  group?: string;
  bridgeId?: string;
  /** "<deviceId>=<key>" pairs, for keys given on the command line or by environment. */
  deviceKey?: string[];
}

function formatIssue(issue: z.core.$ZodIssue, prefix: string): string {
  const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
  return `${prefix}${path || "(root)"}: ${issue.message}`;
}

/** Derives a device id from its URI when the config gives none. */
export function deviceIdFromUri(uri: string, index: number): string {
  const m = /^mqtts?:\/\/[^/]+\/(.+)$/.exec(uri);
  if (m && isValidDeviceId(m[1])) return m[1];
  if (uri === "sim") return index === 0 ? "sim" : `sim${index}`;
  const ser = /^serial:(?:.*\/)?([^/?]+)/.exec(uri);
  if (ser) {
    const id = ser[1].replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
    if (isValidDeviceId(id)) return id;
  }
  return `device${index}`;
}

/**
 * Loads and merges configuration. Flags override file values; `--device` adds devices to the file's list.
 * Throws BridgeConfigError with one line naming the field.
 */
export function loadBridgeConfig(flags: BridgeFlags, readFile: (p: string) => string = (p) => readFileSync(p, "utf8")): BridgeConfig {
  let raw: Record<string, unknown> = {};
  const where = flags.config ? `${flags.config}: ` : "";
  if (flags.config) {
    let text: string;
    try {
      text = readFile(flags.config);
    } catch (e) {
      throw new BridgeConfigError(`${flags.config}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    try {
      const doc: unknown = parseYaml(text);
      if (doc !== null && doc !== undefined && (typeof doc !== "object" || Array.isArray(doc))) throw new Error("top level must be a mapping");
      raw = (doc ?? {}) as Record<string, unknown>;
    } catch (e) {
      throw new BridgeConfigError(`${where}invalid YAML: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  const mqtt = { ...((raw.mqtt as Record<string, unknown> | undefined) ?? {}) };
  for (const k of ["username", "password", "ca", "cert", "key"] as const) if (flags[k] !== undefined) mqtt[k] = flags[k];
  if (flags.mqtt !== undefined) mqtt.url = flags.mqtt;
  const merged: Record<string, unknown> = { ...raw, mqtt };
  if (flags.base !== undefined) merged.base = flags.base;
  if (flags.group !== undefined) merged.group = flags.group;
  if (flags.bridgeId !== undefined) merged.bridgeId = flags.bridgeId;
  if (flags.homeassistant !== undefined || flags.haPrefix !== undefined) {
    const ha = { ...((raw.homeassistant as Record<string, unknown> | undefined) ?? {}) };
    if (flags.homeassistant !== undefined) ha.enabled = flags.homeassistant;
    if (flags.haPrefix !== undefined) ha.prefix = flags.haPrefix;
    merged.homeassistant = ha;
  }
  const fileDevices = Array.isArray(raw.devices) ? raw.devices : raw.devices === undefined ? [] : raw.devices;
  if (flags.device?.length) {
    if (!Array.isArray(fileDevices)) throw new BridgeConfigError(`${where}devices: must be a list`);
    merged.devices = [...fileDevices, ...flags.device.map((uri) => ({ uri }))];
  }
  if (mqtt.url === undefined) throw new BridgeConfigError(`${where}mqtt.url: required (or pass --mqtt URL)`);

  const parsed = BridgeConfigSchema.safeParse(merged);
  if (!parsed.success) throw new BridgeConfigError(formatIssue(parsed.error.issues[0], where));
  const cfg = parsed.data;
  if (cfg.devices.length === 0) throw new BridgeConfigError(`${where}devices: at least one device is required (or pass --device URI)`);

  const baseDir = flags.config ? dirname(resolve(flags.config)) : process.cwd();
  const flagKeys = new Map<string, string>();
  for (const pair of flags.deviceKey ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new BridgeConfigError(`--device-key: "${pair}" must be <deviceId>=<key>`);
    flagKeys.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const seen = new Set<string>();
  const fileCount = Array.isArray(fileDevices) ? fileDevices.length : 0;
  const devices: ResolvedDevice[] = cfg.devices.map((d, i) => {
    // Checked now, not when the device is first opened: the bridge retries a device that fails to open,
    // which for a URI that can never work would be a warning a second, forever.
    try {
      parseDeviceUri(d.uri);
    } catch (e) {
      if (!(e instanceof DeviceUriError)) throw e;
      throw new BridgeConfigError(i < fileCount ? `${where}devices[${i}].uri: ${e.message}` : `--device: ${e.message}`);
    }
    const id = d.id ?? deviceIdFromUri(d.uri, i);
    // A derived id is checked like an explicit one: "bridge" would take over the bridge's own topics.
    if (!isValidDeviceId(id) || RESERVED_DEVICE_IDS.has(id)) {
      const why = RESERVED_DEVICE_IDS.has(id) ? `gives the reserved device id "${id}"` : `gives the device id "${id}", which is not 1-64 characters of A-Z a-z 0-9 _ -`;
      throw new BridgeConfigError(
        i < fileCount ? `${where}devices[${i}].uri: "${d.uri}" ${why}; give it an explicit id` : `--device ${d.uri}: ${why}; list it in a config file with an explicit id`,
      );
    }
    if (seen.has(id)) throw new BridgeConfigError(`${where}devices[${i}].id: "${id}" is used twice (give each device a distinct id)`);
    seen.add(id);
    let key: Buffer | undefined;
    const keyText = flagKeys.get(id) ?? d.key;
    const field = flagKeys.has(id) ? `--device-key ${id}` : `${where}devices[${i}].key`;
    try {
      if (keyText !== undefined) key = parseKey(keyText);
      else if (d.keyFile) {
        const p = resolve(baseDir, d.keyFile);
        let text: string;
        try {
          text = readFile(p);
        } catch (e) {
          throw new Error(`cannot read ${d.keyFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
        key = parseKey(text);
      }
    } catch (e) {
      throw new BridgeConfigError(`${keyText === undefined ? `${where}devices[${i}].keyFile` : field}: ${(e as Error).message}`);
    }
    return { uri: d.uri, id, name: d.name, key, limits: d.limits };
  });
  for (const id of flagKeys.keys()) if (!seen.has(id)) throw new BridgeConfigError(`--device-key: no device with id "${id}"`);
  const bridgeId = cfg.bridgeId ?? defaultBridgeId();
  return { ...cfg, bridgeId, devices };
}

/** The host name: stable across restarts, so a restarted bridge recognises its previous device list. */
function defaultBridgeId(): string {
  return (hostname() || "bridge").replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}
