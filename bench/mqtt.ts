// MQTT command round trip: companion `move` -> device `ack` through a local broker (aedes in-process,
// and mosquitto when installed), with the project's MqttTransport on both sides and the simulated
// firmware, against the floor: a bare MQTT.js QoS 1 request/response with no-delay sockets on the same
// broker. (With default sockets the floor itself is about 44 ms: Nagle plus delayed ACK.)
import { pathToFileURL } from "node:url";
import type { Socket } from "node:net";
import mqtt, { type MqttClient } from "mqtt";
import { RealClock } from "../protocol/index.js";
import { MqttTransport } from "../protocol/transport/mqtt.js";
import { createSimDevice } from "../device-sim/index.js";
import { DeviceLink } from "../src/link/device-link.js";
import { startAedes } from "../test/helpers/aedes.js";
import { startMosquitto } from "../test/helpers/mosquitto.js";
import { hasTool } from "../test/helpers/real-io.js";
import { latency, ratio, timeAlternating, within, type LatencyFigures } from "./stats.js";

export const MQTT_TARGET = 2;

export interface MqttBrokerFigures {
  commands: LatencyFigures;
  floor: LatencyFigures;
  ratio: number;
  pass: boolean;
}

export interface MqttBenchResult {
  aedes: MqttBrokerFigures;
  mosquitto: MqttBrokerFigures | { skipped: string };
  target: { maxRatio: number };
  /** The aedes figures, repeated at the top level so every benchmark has floor/ratio in one place. */
  floor: LatencyFigures;
  ratio: number;
  pass: boolean;
}

function noDelay(c: MqttClient): void {
  (c.stream as unknown as Partial<Socket>).setNoDelay?.(true);
}

async function bareClient(url: string): Promise<MqttClient> {
  const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0 });
  c.on("connect", () => noDelay(c));
  await within(new Promise<void>((res, rej) => (c.once("connect", () => res()), c.once("error", rej))), 5000, `connect ${url}`);
  return c;
}

interface Contender {
  once: (i: number) => Promise<void>;
  close: () => Promise<void>;
}

/** QoS 1 request on one topic, QoS 1 response on another, both clients with TCP_NODELAY. */
async function openBare(url: string, payloadBytes: number): Promise<Contender> {
  const req = await bareClient(url);
  const resp = await bareClient(url);
  await resp.subscribeAsync("bench/req", { qos: 1 });
  await req.subscribeAsync("bench/resp", { qos: 1 });
  resp.on("message", (_t, p) => resp.publish("bench/resp", p, { qos: 1 }));
  let wake: (() => void) | undefined;
  req.on("message", () => wake?.());
  const body = Buffer.from("x".repeat(payloadBytes));
  return {
    once: () =>
      within(
        new Promise<void>((resolve) => {
          wake = resolve;
          req.publish("bench/req", body, { qos: 1 });
        }),
        2000,
        "bare request",
      ),
    close: async () => {
      await req.endAsync(true);
      await resp.endAsync(true);
    },
  };
}

async function openCommands(url: string): Promise<Contender> {
  const clock = new RealClock(1);
  const deviceId = `bench-${process.pid}`;
  const devT = await MqttTransport.connect({ url, deviceId, role: "device" });
  const device = createSimDevice({ clock, transport: devT, seed: 1 });
  const compT = await MqttTransport.connect({ url, deviceId, role: "companion" });
  const link = new DeviceLink(compT, clock, { idPrefix: "bench" });
  const close = async (): Promise<void> => {
    device.stop();
    await link.close();
    await devT.close();
  };
  try {
    await within(link.handshake(), 5000, "handshake");
  } catch (e) {
    await close();
    throw e;
  }
  return {
    once: async (i) => {
      const target = i % 2 === 0 ? -79.5 : -79.8;
      const ack = await within(link.command({ type: "move", axis: "tilt", target, speed: 1 }), 2000, "move");
      if (ack.result !== "accepted") throw new Error(`move ${target}: ${ack.result} ${ack.reason ?? ""}`);
    },
    close,
  };
}

/**
 * Unmeasured round trips of each contender first. A bridge or companion runs for hours: measure the
 * steady state, not V8 tiering the path up, which takes some thousands of round trips here (more
 * JavaScript on the command path than in the bare request, so a short run weighs on it more).
 */
const WARMUP = 3000;

async function onBroker(url: string, n: number): Promise<MqttBrokerFigures> {
  const cmd = await openCommands(url);
  // The move command's JSON is about this long; the floor carries as many bytes.
  const bare = await openBare(url, 90);
  let a: number[] = [];
  let b: number[] = [];
  try {
    [a, b] = await timeAlternating(n, WARMUP, cmd.once, bare.once);
  } finally {
    await cmd.close();
    await bare.close();
  }
  const commands = latency(a);
  const floor = latency(b);
  const r = ratio(commands.p50Ms, floor.p50Ms);
  return { commands, floor, ratio: r, pass: r <= MQTT_TARGET };
}

export async function runMqttBench(opts: { commands?: number } = {}): Promise<MqttBenchResult> {
  const n = opts.commands ?? 300;
  const broker = await startAedes();
  let aedes: MqttBrokerFigures;
  try {
    aedes = await onBroker(broker.url, n);
  } finally {
    await broker.close();
  }
  let mosq: MqttBenchResult["mosquitto"] = { skipped: "mosquitto is not installed (apt install mosquitto)" };
  if (hasTool("mosquitto")) {
    const m = await startMosquitto();
    try {
      mosq = await onBroker(m.url, n);
    } finally {
      await m.stop();
    }
  }
  const pass = aedes.pass && (!("pass" in mosq) || mosq.pass);
  return { aedes, mosquitto: mosq, target: { maxRatio: MQTT_TARGET }, floor: aedes.floor, ratio: aedes.ratio, pass };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runMqttBench().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e: unknown) => {
      console.error(`mqtt bench: ${(e as Error)?.message ?? String(e)}`);
      process.exitCode = 1;
    },
  );
}
