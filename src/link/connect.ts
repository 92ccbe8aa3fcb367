// Opens a device by name: the embedded simulator (in-process, on a virtual clock driven from wall time at
// `speed` times real time, or on a caller's VirtualClock in tests), a serial port, or an MQTT broker.
// The returned link has not done its handshake yet: the session does it (and refuses incompatible devices).
import { readFileSync } from "node:fs";
import {
  FramedStreamTransport,
  RealClock,
  VirtualClock,
  type Clock,
  type MessageTransport,
} from "../../protocol/index.js";
import { createEmbeddedSim, type SimDevice } from "../../device-sim/index.js";
import { DeviceLink, type DeviceLinkOptions } from "./device-link.js";
import { parseDeviceUri, redactDeviceUri, type DeviceUri } from "./device-uri.js";

export interface OpenOptions {
  /** Session clock. For "sim": a VirtualClock the caller advances itself (tests); otherwise one is made. */
  clock?: Clock;
  /** Simulator only: virtual ms per real ms. */
  speed?: number;
  simConfig?: unknown;
  seed?: number;
  link?: DeviceLinkOptions;
  /** MQTT: how long to wait for the broker. */
  connectTimeoutMs?: number;
}

export interface DeviceConnection {
  uri: DeviceUri;
  link: DeviceLink;
  clock: Clock;
  sim?: SimDevice;
  close(): Promise<void>;
}

/** How often the real-time pump advances the simulator's virtual clock. */
const PUMP_MS = 10;

export async function openDevice(uriText: string, opts: OpenOptions = {}): Promise<DeviceConnection> {
  const uri = parseDeviceUri(uriText);
  const speed = opts.speed ?? 1;
  if (!(Number.isFinite(speed) && speed > 0 && speed <= 1000)) throw new Error(`--speed: must be a number in (0, 1000], got ${opts.speed}`);
  if (uri.kind !== "sim" && opts.speed !== undefined && speed !== 1) {
    throw new Error(`--speed: only the simulator can run faster than real time (device is ${uri.kind})`);
  }
  if (uri.kind === "sim") return openSim(uri, speed, opts);
  const clock = opts.clock ?? new RealClock(1);
  let transport: MessageTransport;
  if (uri.kind === "serial") {
    // Loaded on demand: a simulator session never needs the native serial binding or the MQTT client.
    const { openSerialPort } = await import("../../protocol/transport/serial.js");
    const port = await openSerialPort(uri.path, uri.baud === undefined ? {} : { baud: uri.baud });
    transport = new FramedStreamTransport(port, "companion");
  } else {
    const read = (what: string, path: string | undefined): Buffer | undefined => {
      if (path === undefined) return undefined;
      try {
        return readFileSync(path);
      } catch (e) {
        throw new Error(`device "${redactDeviceUri(uri)}": cannot read ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    const ca = read("ca", uri.ca);
    const cert = read("cert", uri.cert);
    const key = read("key", uri.key);
    const { MqttTransport } = await import("../../protocol/transport/mqtt.js");
    transport = await MqttTransport.connect({
      url: `${uri.tls ? "mqtts" : "mqtt"}://${uri.host.includes(":") ? `[${uri.host}]` : uri.host}:${uri.port}`,
      deviceId: uri.deviceId,
      role: "companion",
      ...(uri.username !== undefined ? { username: uri.username } : {}),
      ...(uri.password !== undefined ? { password: uri.password } : {}),
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
    });
  }
  const link = new DeviceLink(transport, clock, { client: "invert", ...opts.link });
  return { uri, link, clock, close: () => link.close() };
}

function openSim(uri: DeviceUri, speed: number, opts: OpenOptions): DeviceConnection {
  let clock: VirtualClock;
  let pump: ReturnType<typeof setInterval> | undefined;
  if (opts.clock) {
    if (!(opts.clock instanceof VirtualClock)) throw new Error("sim: the embedded simulator needs a VirtualClock (or none)");
    clock = opts.clock;
  } else {
    // One virtual clock for the simulator and the session, advanced from wall time: every physics step
    // runs, in order, whatever the speed (a sped-up RealClock would drop steps below 1 ms timers).
    clock = new VirtualClock();
    const origin = performance.now();
    pump = setInterval(() => clock.advanceTo((performance.now() - origin) * speed), PUMP_MS);
  }
  const sim = createEmbeddedSim({ clock, config: opts.simConfig, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
  const link = new DeviceLink(sim.companion, clock, { client: "invert", ...opts.link });
  return {
    uri,
    link,
    clock,
    sim: sim.device,
    async close() {
      if (pump !== undefined) clearInterval(pump);
      pump = undefined;
      sim.device.stop();
      await link.close();
    },
  };
}
