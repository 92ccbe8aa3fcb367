// The simulator as a stand-alone device in real time: one simulated device served on a serial port (for
// example one end of a socat pseudo-terminal pair) or over MQTT, optionally tracing every telemetry
// sample and event to a JSON-lines file, with faults scheduled from the command line.
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";
import { parse as parseYaml } from "yaml";
import { RealClock, type Clock, type MessageTransport } from "../protocol/index.js";
import { openSerialTransport } from "../protocol/transport/serial.js";
import { MqttTransport } from "../protocol/transport/mqtt.js";
import { SimConfigError, parseSimConfig, type SimModel } from "./config.js";
import { createSimDevice, type SimDevice } from "./device.js";
import { applyFaultPlan, type FaultPlan } from "./fault-plan.js";

export interface StandaloneOptions {
  serial?: string;
  baud?: number;
  mqtt?: string;
  id?: string;
  username?: string;
  password?: string;
  model?: SimModel;
  /** Config file (JSON or YAML) or an already-loaded config object. */
  config?: string | Record<string, unknown>;
  trace?: string;
  seed?: number;
  faults?: Partial<FaultPlan>;
  /** Where status lines go (default: stderr). */
  log?: (line: string) => void;
  clock?: Clock;
}

export interface StandaloneSim {
  readonly device: SimDevice;
  /** Where it serves ("serial /dev/pts/3", "mqtt mqtt://host:1883 id table-1"). */
  readonly where: string;
  /**
   * Settles when the sim stops: with the error when its transport went away by itself (port gone, which
   * `invert sim` reports as a link error), with undefined after close().
   */
  readonly ended: Promise<Error | undefined>;
  /** Stops the device, says offline on MQTT, flushes the trace. Safe to call twice. */
  close(): Promise<void>;
}

/** Reads a config file as JSON or YAML; errors name the file. */
export function loadConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new SimConfigError(`config ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, "config");
  }
  let v: unknown;
  try {
    v = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new SimConfigError(`config ${path}: not valid ${/\.json$/i.test(path) ? "JSON" : "YAML"}: ${(e as Error).message.split("\n")[0]}`, "config");
  }
  if (v === null || v === undefined) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new SimConfigError(`config ${path}: must be a mapping of settings`, "config");
  return v as Record<string, unknown>;
}

export async function runStandaloneSim(opts: StandaloneOptions): Promise<StandaloneSim> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (!!opts.serial === !!opts.mqtt) throw new Error("sim: give exactly one of --serial PATH or --mqtt URL --id ID");
  if (opts.mqtt && !opts.id) throw new Error("sim: --mqtt needs --id ID (the device id in the topic names)");
  const raw = typeof opts.config === "string" ? loadConfigFile(opts.config) : { ...(opts.config ?? {}) };
  if (opts.model) raw.model = opts.model;
  let config;
  try {
    config = parseSimConfig(raw);
  } catch (e) {
    if (e instanceof SimConfigError) throw new SimConfigError(`config ${e.message}`, e.field);
    throw e;
  }

  let transport: MessageTransport;
  let where: string;
  if (opts.serial) {
    transport = await openSerialTransport(opts.serial, "device", opts.baud ? { baud: opts.baud } : {});
    where = `serial ${opts.serial}`;
  } else {
    transport = await MqttTransport.connect({
      url: opts.mqtt!,
      deviceId: opts.id!,
      role: "device",
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
    });
    where = `mqtt ${opts.mqtt!.replace(/\/\/[^@/]*@/, "//***@")} id ${opts.id}`;
  }

  let trace: WriteStream | undefined;
  if (opts.trace) {
    trace = createWriteStream(opts.trace, { flags: "a" });
    trace.on("error", (e) => log(`sim: trace ${opts.trace}: ${e.message}; tracing stopped`));
  }
  const clock = opts.clock ?? new RealClock();
  let endedResolve: (e: Error | undefined) => void = () => {};
  const ended = new Promise<Error | undefined>((r) => (endedResolve = r));
  let closed = false;
  const device = createSimDevice({
    clock,
    transport,
    config,
    seed: opts.seed ?? 1,
    onTransportClose: (err) => {
      if (closed) return;
      log(`sim: ${where} closed${err ? `: ${err.message}` : ""}`);
      // Settled first: close() settles `ended` too, and a line that went away is an error, not a stop.
      endedResolve(err ?? new Error(`${where} closed by the other end`));
      void close();
    },
  });
  const write = (m: object): void => {
    if (trace && !trace.destroyed) trace.write(`${JSON.stringify({ ...m, ts: Date.now() })}\n`);
  };
  device.onTelemetry(write);
  device.onEvent((e) => {
    write(e);
    log(`sim: evt ${e.code} (${e.severity}): ${e.msg}`);
  });
  applyFaultPlan(device.inject, { dropLink: [], ...opts.faults }, clock.now());

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    device.stop();
    await transport.close().catch(() => {});
    if (trace) await new Promise<void>((r) => trace!.end(() => r()));
    endedResolve(undefined);
  }

  const c = device.config;
  log(`sim: ${c.model} ${c.serial} serving on ${where} (watchdog ${c.watchdogMs} ms, telemetry ${c.tlmHz} Hz)`);
  return { device, where, ended, close };
}
