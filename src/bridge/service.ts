// Wires the bridge to the real device stack: device URIs opened by the link layer, sessions run by the
// session controller, programs from the library (or inline, validated), profiles from the local store.
import type { Clock } from "../../protocol/index.js";
import { VERSION } from "../cli/version.js";
import { openDevice } from "../link/connect.js";
import { builtinNames } from "../programs/library.js";
import type { Program } from "../programs/schema.js";
import { resolveProgram } from "./programs.js";
import { startSession, type SessionHandle } from "../session/run-session.js";
import { openStore, type Store } from "../store/index.js";
import { prepareProfileSession } from "../users/session-setup.js";
import { attachRecorder } from "../store/index.js";
import { startBridge, type Bridge, type LogLevel } from "./bridge.js";
import type { BridgeConfig, ResolvedDevice } from "./config.js";
import { SessionDevice, type SessionDeviceDeps } from "./session-device.js";
import { DeviceLink } from "../link/device-link.js";
import { parseDeviceUri } from "../link/device-uri.js";
import { randomBytes } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { connectMqtt } from "./mqtt-client.js";
import { MqttMux } from "./mqtt-mux.js";
import { DEFAULT_ROOT } from "../../protocol/index.js";
import { SharedTimerClock } from "./shared-timers.js";


export interface ServiceOptions {
  speed?: number;
  log?: (level: LogLevel, msg: string) => void;
}

/** Runs at most `n` async jobs at once, in arrival order. */
export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

/** Shared by every device of the process: see SessionDeviceDeps.gate and startGate. */
const connectGate = limiter(16);
const startGate = limiter(16);

/**
 * Device links of MQTT-native devices share one connection per broker (and credentials): see
 * mqtt-mux.ts. Serial devices and the simulator open through the link layer as usual.
 */
const muxes = new Map<string, Promise<MqttMux>>();

async function closeMuxes(): Promise<void> {
  const all = [...muxes.values()];
  muxes.clear();
  await Promise.all(all.map((p) => p.then((m) => m.client.endAsync()).catch(() => undefined)));
}

async function openShared(uriText: string, clock: Clock): Promise<{ link: DeviceLink; clock: Clock; close(): Promise<void> }> {
  const uri = parseDeviceUri(uriText);
  if (uri.kind !== "mqtt") throw new Error(`device "${uriText}": not an MQTT device`);
  const host = uri.host.includes(":") ? `[${uri.host}]` : uri.host;
  const url = `${uri.tls ? "mqtts" : "mqtt"}://${host}:${uri.port}`;
  const key = [url, uri.username ?? "", uri.ca ?? "", uri.cert ?? ""].join("|");
  let p = muxes.get(key);
  if (!p) {
    p = connectMqtt({
      url, username: uri.username, password: uri.password, ca: uri.ca, cert: uri.cert, key: uri.key,
      clientId: `invert-links-${randomBytes(6).toString("hex")}`, keepalive: 5, reconnectPeriod: 500,
    }).then((client) => new MqttMux(client, DEFAULT_ROOT));
    muxes.set(key, p);
    p.catch(() => muxes.delete(key));
  }
  const mux = await p;
  const link = new DeviceLink(mux.open(uri.deviceId), clock, { client: "invert" });
  return { link, clock, close: () => link.close() };
}

export function sessionDeviceFor(d: ResolvedDevice, clock: Clock, opts: ServiceOptions & { store?: () => Store }): SessionDevice<DeviceLink, Program, SessionHandle> {
  const log = opts.log ?? ((level: LogLevel, msg: string) => process.stderr.write(`[${level}] ${msg}\n`));
  const deps: SessionDeviceDeps<DeviceLink, Program, SessionHandle> = {
    // The embedded simulator runs on its own virtual clock; every other link shares the bridge's timers.
    open: (uri) =>
      /^mqtts?:/.test(uri) ? openShared(uri, clock) : openDevice(uri, parseDeviceUri(uri).kind === "sim" ? (opts.speed !== undefined ? { speed: opts.speed } : {}) : { clock }),
    program: resolveProgram,
    startSession: (o) => startSession({ link: o.link, clock: o.clock, program: o.program, profileLimits: o.profileLimits }),
    clock,
    limits: d.limits,
    log: (m) => log("warn", m),
    gate: connectGate,
    startGate,
  };
  const getStore = opts.store;
  if (getStore) {
    deps.prepareProfile = (name, program) => {
      const store = getStore();
      const prep = prepareProfileSession(store, name, program, new Date(), { device: d.uri });
      return {
        program: prep.program,
        profileLimits: prep.profileLimits as Record<string, number>,
        started: (s) => {
          attachRecorder(store, s, prep.meta, { clock, onError: (line) => log("warn", `${d.id}: recording: ${line}`) });
        },
      };
    };
  }
  return new SessionDevice(d.id, d.uri, deps);
}

/**
 * Log lines of one event-loop iteration leave in one write: a busy bridge logs every request, and each
 * write to a pipe is a system call. Whatever is pending is written on exit.
 */
function batchedStderr(): (line: string) => void {
  let pending = "";
  const flush = () => {
    if (!pending) return;
    const out = pending;
    pending = "";
    process.stderr.write(out);
  };
  process.on("exit", flush);
  return (line) => {
    if (!pending) setImmediate(flush);
    pending += line;
  };
}

/** Runs until SIGINT/SIGTERM, then stops sessions (slow return) and publishes offline. */
export async function runBridgeService(config: BridgeConfig, opts: ServiceOptions = {}): Promise<void> {
  // Every device's timers (heartbeats, link checks, session ticks, state rate limits) on one real timer.
  const clock = new SharedTimerClock();
  const err = batchedStderr();
  const log = opts.log ?? ((level: LogLevel, msg: string) => err(`${new Date().toISOString()} [${level}] ${msg}\n`));
  let store: Store | undefined;
  const lazyStore = () => (store ??= openStore());
  const bridge: Bridge = await startBridge({
    config,
    clock,
    programNames: builtinNames(),
    version: VERSION,
    log,
    createDevice: (d) => sessionDeviceFor(d, clock, { ...opts, log, store: lazyStore }),
  });
  log("info", `serving ${bridge.served().length} device(s): ${bridge.served().join(", ")}`);
  // INVERT_BRIDGE_STATS=1: event-loop delay every 5 s, the first thing to look at when responses are slow.
  if (process.env.INVERT_BRIDGE_STATS === "1") {
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    setInterval(() => {
      log("info", `event loop delay ms: p50 ${(h.percentile(50) / 1e6).toFixed(1)} p99 ${(h.percentile(99) / 1e6).toFixed(1)} max ${(h.max / 1e6).toFixed(1)}`);
      h.reset();
    }, 5000).unref();
  }
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log("info", `${sig}: stopping (sessions return slowly)`);
      // Backstop: whatever still holds the event loop, the process ends (devices return on their own).
      setTimeout(() => process.exit(0), 10_000).unref();
      void bridge
        .stop()
        .then(() => closeMuxes())
        .finally(() => {
          store?.close?.();
          resolve();
        });
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}
