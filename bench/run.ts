// All benchmarks in one run: `npm run bench` prints a table, `npm run bench -- --json` prints one object
// with a key per benchmark (serial, mqtt, codec, virtualTime, reaction, memory; fleet with --fleet).
// Each benchmark compares against its floor measured in the same run where it has one.
//
//   npm run bench [-- --json] [--fleet] [--only serial,mqtt,...] [--commands 300]
import { parseArgs } from "node:util";
import { runCodecBench, type CodecBenchResult } from "./codec.js";
import { runFleetBench, type FleetResult } from "./fleet.js";
import { FLEET_TARGET_TEXT } from "./fleet-target.js";
import { formatMachineSpeed, measureMachineSpeed, type MachineSpeed } from "./machine-speed.js";
import { runMemoryBench, type MemoryBenchResult } from "./memory.js";
import { runMqttBench, type MqttBenchResult } from "./mqtt.js";
import { runReactionBench, type ReactionResult } from "./reaction.js";
import { runSerialBench, type SerialBenchResult } from "./serial.js";
import { runVirtualTimeBench, type VirtualTimeResult } from "./virtual-time.js";

export interface BenchReport {
  serial?: SerialBenchResult | { error: string };
  mqtt?: MqttBenchResult | { error: string };
  codec?: CodecBenchResult | { error: string };
  virtualTime?: VirtualTimeResult | { error: string };
  reaction?: ReactionResult | { error: string };
  memory?: MemoryBenchResult | { error: string };
  fleet?: FleetResult | { error: string };
  machine: { cpus: number; node: string; loadAvg1m: number } & MachineSpeed;
}

const ALL = ["serial", "mqtt", "codec", "virtualTime", "reaction", "memory"] as const;
type Name = (typeof ALL)[number] | "fleet";

async function guarded<T>(fn: () => Promise<T> | T): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (e) {
    return { error: (e as Error)?.message ?? String(e) };
  }
}

export async function runAll(opts: { only?: readonly Name[]; fleet?: boolean; commands?: number; log?: (s: string) => void }): Promise<BenchReport> {
  const { cpus, loadavg } = await import("node:os");
  const want = new Set<Name>(opts.only ?? [...ALL, ...(opts.fleet ? (["fleet"] as const) : [])]);
  // The load average is read before the measurement, which would otherwise raise it.
  const r: BenchReport = { machine: { cpus: cpus().length, node: process.version, loadAvg1m: Math.round(loadavg()[0] * 100) / 100, ...measureMachineSpeed() } };
  const step = async <K extends Name>(k: K, fn: () => Promise<unknown> | unknown): Promise<void> => {
    if (!want.has(k)) return;
    opts.log?.(`running ${k} ...`);
    (r as unknown as Record<string, unknown>)[k] = await guarded(fn);
  };
  await step("serial", () => runSerialBench({ commands: opts.commands }));
  await step("mqtt", () => runMqttBench({ commands: opts.commands }));
  await step("codec", () => runCodecBench());
  await step("virtualTime", () => runVirtualTimeBench());
  await step("reaction", () => runReactionBench());
  await step("memory", () => runMemoryBench());
  await step("fleet", () => runFleetBench({ devices: 50, seconds: 8 }));
  return r;
}

const ok = (pass: boolean | undefined): string => (pass === undefined ? "-" : pass ? "PASS" : "MISS");

export function formatTable(r: BenchReport): string {
  const rows: string[][] = [["benchmark", "measured", "floor / target", "ratio", "result"]];
  const err = (k: string, e: { error: string }) => rows.push([k, `error: ${e.error}`, "", "", "ERROR"]);
  if (r.serial) {
    const s = r.serial;
    if ("error" in s) err("serial", s);
    else if (s.skipped) rows.push(["serial move->ack (pty)", `skipped: ${s.skipped}`, "", "", "-"]);
    else rows.push(["serial move->ack (pty)", `p50 ${s.commands?.p50Ms} ms, p99 ${s.commands?.p99Ms} ms`, `echo p50 ${s.floor?.p50Ms} ms; <= ${s.target.maxRatio}x`, `${s.ratio}x`, ok(s.pass)]);
  }
  if (r.mqtt) {
    const m = r.mqtt;
    if ("error" in m) err("mqtt", m);
    else {
      rows.push(["mqtt move->ack (aedes)", `p50 ${m.aedes.commands.p50Ms} ms, p99 ${m.aedes.commands.p99Ms} ms`, `QoS1 req/resp p50 ${m.aedes.floor.p50Ms} ms; <= ${m.target.maxRatio}x`, `${m.aedes.ratio}x`, ok(m.aedes.pass)]);
      const q = m.mosquitto;
      if ("skipped" in q) rows.push(["mqtt move->ack (mosquitto)", `skipped: ${q.skipped}`, "", "", "-"]);
      else rows.push(["mqtt move->ack (mosquitto)", `p50 ${q.commands.p50Ms} ms, p99 ${q.commands.p99Ms} ms`, `QoS1 req/resp p50 ${q.floor.p50Ms} ms; <= ${m.target.maxRatio}x`, `${q.ratio}x`, ok(q.pass)]);
    }
  }
  if (r.codec) {
    const c = r.codec;
    if ("error" in c) err("codec", c);
    else rows.push(["codec decode+validate", `${c.decodeFramesPerS.toLocaleString("en-US")} frames/s`, `JSON.parse ${c.jsonParseFramesPerS.toLocaleString("en-US")}/s; <= ${c.targets.maxRatio}x, >= ${c.targets.minFramesPerS.toLocaleString("en-US")}/s`, `${c.ratio}x`, ok(c.pass)]);
  }
  if (r.virtualTime) {
    const v = r.virtualTime;
    if ("error" in v) err("virtualTime", v);
    else rows.push(["virtual time (10-min oscillation)", `${v.speedup}x real time (${v.simulatedS} s in ${v.wallS} s)`, `>= ${v.target.minSpeedup}x`, "", ok(v.pass)]);
  }
  if (r.reaction) {
    const x = r.reaction;
    if ("error" in x) err("reaction", x);
    else for (const k of ["stopSwitch", "lostLink", "sensorMismatch", "discomfort"] as const) rows.push([`reaction: ${k}`, `${x[k].ms} ms (simulated)`, `<= ${x[k].targetMs} ms: ${x[k].basis}`, "", ok(x[k].pass)]);
  }
  if (r.memory) {
    const m = r.memory;
    if ("error" in m) err("memory", m);
    else {
      rows.push(["memory, 1-h session + history", `${m.slopeKBPerMin} KB/min (${m.bytesPerSample} B/sample), heap ${m.heapStartMB}->${m.heapEndMB} MB`, `flat: < ${m.flatBelowBytesPerSample} B/sample`, "", ok(m.flat)]);
      const b = m.withoutRecorder;
      rows.push(["memory, 1-h session alone", `${b.slopeKBPerMin} KB/min (${b.bytesPerSample} B/sample), heap ${b.heapStartMB}->${b.heapEndMB} MB`, `flat: < ${b.flatBelowBytesPerSample} B/sample`, "", ok(b.flat)]);
    }
  }
  if (r.fleet) {
    const f = r.fleet;
    if ("error" in f) err("fleet", f);
    else {
      rows.push([
        `fleet (${f.devices} devices, ${f.broker})`,
        `request p50 ${f.rttMs.p50} ms, p99 ${f.rttMs.p99} ms (${f.arrivals} arrivals); ${f.telemetryPerDevicePerS} samples/s per device; simulators in the ${f.simsPolicy} class`,
        `target: ${FLEET_TARGET_TEXT}`,
        "",
        ok(f.target.atTargetScale ? f.target.pass : undefined),
      ]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [
    line(rows[0]),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.slice(1).map(line),
    "",
    `machine: ${r.machine.cpus} CPUs, node ${r.machine.node}, load average ${r.machine.loadAvg1m} at start; ${formatMachineSpeed(r.machine)}`,
  ].join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      fleet: { type: "boolean", default: false },
      only: { type: "string" },
      commands: { type: "string" },
    },
  });
  const only = values.only?.split(",").map((s) => s.trim()) as Name[] | undefined;
  for (const k of only ?? []) {
    if (![...ALL, "fleet"].includes(k)) {
      console.error(`--only: unknown benchmark "${k}" (one of ${[...ALL, "fleet"].join(", ")})`);
      return 2;
    }
  }
  const commands = values.commands === undefined ? undefined : Number(values.commands);
  if (commands !== undefined && !(Number.isInteger(commands) && commands > 0)) {
    console.error(`--commands: must be a positive integer, got "${values.commands}"`);
    return 2;
  }
  const r = await runAll({ only, fleet: values.fleet, commands, log: values.json ? undefined : (s) => process.stderr.write(`${s}\n`) });
  console.log(values.json ? JSON.stringify(r) : formatTable(r));
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // MQTT clients and the broker can leave sockets in TIME_WAIT-ish teardown; the figures are out.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (e: unknown) => {
    console.error(`bench: ${(e as Error)?.message ?? String(e)}`);
    process.exitCode = 1;
  },
);
