// Fleet benchmark: N simulated devices over MQTT, one bridge process serving all of them, sessions
// driven on every device through the bridge's request topics. Prints request round trip p50/p99,
// telemetry throughput, and CPU and memory per device (bridge process, broker, simulators).
//
//   npm run bench:fleet -- --devices 1000 --seconds 20 [--json] [--broker aedes|mosquitto] [--starts-in-flight 4]
//                          [--request-hz 0.5] [--arrivals poisson|burst] [--seed 1] [--sims-sched idle|normal]
//
// FLEET_BRIDGE_NODE_ARGS / FLEET_SIMS_NODE_ARGS (e.g. "--cpu-prof") pass node flags to the two children.
// FLEET_BRIDGE_STDOUT=file keeps the bridge's stdout (where V8 writes `--trace-gc` lines) in that file.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { signCommand } from "../src/bridge/signing.js";
import { startAedes } from "../test/helpers/aedes.js";
import { startMosquitto } from "../test/helpers/mosquitto.js";
import { toolPath } from "../test/helpers/real-io.js";
import { Observer } from "../test/bridge/helpers.js";
import { FLEET_TARGET_TEXT, formatVerdict, judgeFleet, type FleetVerdict } from "./fleet-target.js";
import { ARRIVAL_PATTERNS, arrivalTimes, type ArrivalPattern } from "./fleet-arrivals.js";
import { mulberry32 } from "../protocol/transport/inproc-pipe.js";
import { formatMachineSpeed, measureMachineSpeed, type MachineSpeed } from "./machine-speed.js";
import { SIM_SCHEDS, policyOf, simLaunch, type SimSched } from "./sim-priority.js";

export interface FleetOptions {
  devices: number;
  /** Measurement window after every session has started. */
  seconds: number;
  broker?: "auto" | "aedes" | "mosquitto";
  /** Pause/resume requests per device per second during the window. */
  requestHz?: number;
  /** When the requests are sent (fleet-arrivals.ts); default poisson. */
  arrivals?: ArrivalPattern;
  /** Seed of the Poisson arrival times (default 1). */
  seed?: number;
  /** Signed starts the bench keeps in flight at once (default 4); the device count sends them all at once. */
  startsInFlight?: number;
  /** The simulators' scheduling class (sim-priority.ts); default idle. */
  simsSched?: SimSched;
  log?: (line: string) => void;
}

export interface FleetResult {
  devices: number;
  broker: string;
  seconds: number;
  requests: number;
  requestErrors: number;
  sessions: number;
  startRefused: number;
  /** Starts refused because the device had latched WATCHDOG, cleared (signed) and started again. */
  watchdogCleared: number;
  /** Sessions that started returning before the bench stopped them (overload shows here first). */
  sessionsEnded: number;
  /** Their reasons, as the bridge's state gave them, with counts. */
  endReasons: Record<string, number>;
  /** How the requests were spread over the window. */
  arrivals: ArrivalPattern;
  rttMs: { p50: number; p99: number; max: number };
  startRttMs: { p50: number; p99: number };
  telemetryPerS: number;
  telemetryPerDevicePerS: number;
  statePerS: number;
  cpuPctPerDevice: { bridge: number; broker: number | null; sims: number };
  memMbPerDevice: { bridge: number; sims: number };
  bridgeCpuPct: number;
  bridgeRssMb: number;
  brokerCpuPct: number | null;
  simsCpuPct: number;
  /** The scheduling policy the simulators' process ran under, read back from /proc ("idle", "normal"). */
  simsPolicy: string;
  /** This process: the request client and state observer (and the broker too when it is aedes, in process). */
  clientCpuPct: number;
  /** The machine's 1-minute load average at the end of the window (other work on the machine shows here). */
  loadAvg1m: number;
  /** Measured before anything starts: places the machine among others when comparing figures. */
  machine: MachineSpeed;
  /** Judged against 1,000 devices at 10 Hz with request p99 under 50 ms. */
  target: FleetVerdict;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const KEY_HEX = "5a".repeat(32);
const KEY = Buffer.from(KEY_HEX, "hex");
/** Head-up ramp and a long hold: sessions stay under way for the whole window, with no lock needed. */
const PROGRAM = { name: "fleet-bench", steps: [{ type: "ramp", to: -40, speed: 5 }, { type: "hold", seconds: 3600 }] };

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** CPU seconds (user+system) and RSS of a process, from /proc. */
function procUsage(pid: number): { cpuS: number; rssMb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(f[11]) + Number(f[12]);
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return { cpuS: ticks / 100, rssMb: rss ? Number(rss[1]) / 1024 : NaN };
  } catch {
    return undefined;
  }
}

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`fleet bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function runFleetBench(o: FleetOptions): Promise<FleetResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const n = o.devices;
  const machine = measureMachineSpeed();
  const want = o.broker ?? "auto";
  const useMosq = want === "mosquitto" || (want === "auto" && toolPath("mosquitto") !== undefined);
  const broker = useMosq
    ? await startMosquitto({ extraConf: ["max_queued_messages 100000", "set_tcp_nodelay true"] })
    : await startAedes();
  const brokerPid = useMosq ? (broker as { process: ChildProcess }).process.pid : undefined;
  log(`broker: ${useMosq ? "mosquitto" : "aedes (in-process)"} at ${broker.url}`);
  const dir = mkdtempSync(join(tmpdir(), "invert-fleet-"));
  let sims: ChildProcess | undefined;
  let bridgeLog = "";
  const bridgeLogText = () => bridgeLog;
  let bridge: ChildProcess | undefined;
  let obs: Observer | undefined;
  try {
    const ids = Array.from({ length: n }, (_, i) => `fleet-${String(i).padStart(4, "0")}`);
    let tlm = 0;
    let simsReady = false;
    // FLEET_SIMS_NODE_ARGS (e.g. "--cpu-prof") profiles the simulators' process.
    const simArgs = (process.env.FLEET_SIMS_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const simsSched = o.simsSched ?? "idle";
    const chrt = toolPath("chrt");
    if (simsSched === "idle" && chrt === undefined) log("chrt (util-linux) not found: the simulators run in the normal scheduling class");
    const launch = simLaunch(simsSched, process.execPath, [...simArgs, "--import", "tsx", join(ROOT, "bench/fleet-sims.ts"), "--url", broker.url, "--count", String(n)], chrt);
    // chrt sets the policy and execs node, so the child's pid is the simulators' own.
    sims = spawn(launch.command, launch.args, { stdio: ["ignore", "pipe", "inherit"] });
    let buf = "";
    sims.stdout?.setEncoding("utf8");
    sims.stdout?.on("data", (s: string) => {
      buf += s;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = JSON.parse(line) as { ready?: number; tlm?: number };
        if (m.ready !== undefined) simsReady = true;
        if (m.tlm !== undefined) tlm = m.tlm;
      }
    });
    await waitUntil(() => simsReady, 30_000 + n * 100, "simulated devices to connect");
    const simsPolicy = policyOf(sims.pid!) ?? "unknown";
    log(`${n} simulated devices connected (scheduling class: ${simsPolicy})`);

    const cfg = join(dir, "bridge.yaml");
    writeFileSync(cfg, [
      `mqtt: { url: "${broker.url}" }`, "bridgeId: fleet", "stateHz: 2", "devices:",
      ...ids.map((id) => `  - { uri: "${broker.url}/${id}", key: "${KEY_HEX}" }`),
    ].join("\n") + "\n");
    obs = await Observer.connect(broker.url, ["invert/bridge/state", "invert/+/availability", "invert/+/response/+"]);
    // State is a dashboard's view: QoS 0, so it never queues behind the QoS 1 responses being timed.
    await obs.client.subscribeAsync("invert/+/state", { qos: 0 });
    const online = new Set<string>();
    let states = 0;
    const rtt: number[] = [];
    const startRtt: number[] = [];
    let errors = 0;
    let startErrors = 0;
    const running = new Set<string>();
    /** Sessions that began returning (or ended) before the bench stopped them, with the bridge's reason. */
    const ended = new Map<string, string>();
    const pending = new Map<string, { at: number; start: boolean; id: string; kind: string }>();
    const retried = new Set<string>();
    obs.client.on("message", (topic, payload) => {
      const parts = topic.split("/");
      if (parts[2] === "availability" && payload.toString().includes("online")) online.add(parts[1]);
      else if (parts[2] === "state") {
        states++;
        // A session that came back on its own (link lost, the supervisor…) explains request errors.
        if (running.has(parts[1]) && !ended.has(parts[1]) && payload.includes('"reason"')) {
          const st = JSON.parse(payload.toString()) as { phase?: string; reason?: string };
          if (st.reason !== undefined && /^returning|^aborted|^fault/.test(st.phase ?? "")) ended.set(parts[1], st.reason);
        }
      }
      else if (parts[2] === "response") {
        const r = JSON.parse(payload.toString()) as { transaction?: string; status?: string; reason?: string };
        const p = r.transaction ? pending.get(r.transaction) : undefined;
        if (!p) return;
        pending.delete(r.transaction!);
        (p.start ? startRtt : rtt).push(performance.now() - p.at);
        if (p.start && r.status === "ok") running.add(p.id);
        if (p.start && r.status !== "ok" && /WATCHDOG/.test(r.reason ?? "") && !retried.has(p.id)) {
          // The device latched a watchdog trip while the bridge was busy: an operator would clear it
          // (signed) and start again; so does the bench, once per device, and counts it.
          retried.add(p.id);
          send(p.id, "clear", {}, true, true);
          return;
        }
        if (p.kind === "clear") {
          if (r.status === "ok") send(p.id, "start", { program: PROGRAM }, true, true);
          else startErrors++;
          return;
        }
        if (r.status !== "ok") {
          if (p.start) startErrors++;
          else errors++;
          if (startErrors + errors <= 5) log(`request error: ${topic} ${r.reason}`);
        }
      }
    });
    // FLEET_BRIDGE_NODE_ARGS (e.g. "--cpu-prof") profiles the bridge process.
    const nodeArgs = (process.env.FLEET_BRIDGE_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const bridgeOut = process.env.FLEET_BRIDGE_STDOUT ? openSync(process.env.FLEET_BRIDGE_STDOUT, "w") : "ignore";
    bridge = spawn(process.execPath, [...nodeArgs, join(ROOT, "bin/invert.js"), "bridge", "--config", cfg], { stdio: ["ignore", bridgeOut, "pipe"] });
    // The child has its own copy of the descriptor; the parent's would leak once per run.
    if (typeof bridgeOut === "number") closeSync(bridgeOut);
    bridgeLog = "";
    bridge.stderr?.setEncoding("utf8");
    bridge.stderr?.on("data", (s: string) => {
      if (bridgeLog.length < 2_000_000) bridgeLog += s;
    });
    const bridgePid = bridge.pid!;
    try {
      await waitUntil(() => online.size === n, 60_000 + n * 60, `all ${n} devices online at the bridge (${online.size} so far)`);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nbridge log: ${bridgeLog.slice(-1500)}`);
    }
    log(`bridge serves ${n} devices`);

    let seq = 0;
    const send = (id: string, action: string, body: Record<string, unknown>, signed: boolean, start = false) => {
      const tx = `b${seq++}`;
      const payload = signed ? signCommand({ ...body, transaction: tx }, KEY, Date.now(), { deviceId: id, action }) : { ...body, transaction: tx };
      pending.set(tx, { at: performance.now(), start, id, kind: action });
      obs!.client.publish(`invert/${id}/request/${action}`, JSON.stringify(payload), { qos: 1 });
    };
    // At most a few starts in flight: a start is the expensive request (handshake, limits, plan, actor),
    // and a burst of them must not delay the heartbeats of sessions already running.
    const maxStarts = o.startsInFlight ?? 4;
    const startsInFlight = () => [...pending.values()].filter((p) => p.start).length;
    for (let i = 0; i < n; i++) {
      while (startsInFlight() >= maxStarts) await new Promise((r) => setTimeout(r, 2));
      send(ids[i], "start", { program: PROGRAM }, true, true);
    }
    await waitUntil(() => startRtt.length + [...pending.values()].filter((p) => !p.start).length >= n && [...pending.values()].every((p) => !p.start), 60_000 + n * 50, "every start answered");
    log(`sessions started on ${running.size} devices (${startErrors} refused)`);
    const active = ids.filter((id) => running.has(id));
    if (active.length === 0) throw new Error("fleet bench: no session started");

    // Measurement window: pause/resume requests, the devices in turn, at the times fleet-arrivals.ts gives.
    const hz = o.requestHz ?? 0.5;
    const arrivals = o.arrivals ?? "poisson";
    const b0 = procUsage(bridgePid);
    const m0 = brokerPid ? procUsage(brokerPid) : undefined;
    const s0 = procUsage(sims.pid!);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const tlm0 = tlm;
    const st0 = states;
    const paused = new Set<string>();
    const totalMs = o.seconds * 1000;
    const times = arrivalTimes(arrivals, n * hz, totalMs, mulberry32(o.seed ?? 1));
    let cursor = 0;
    for (const at of times) {
      // Sleep until the next request is due; those that fell due meanwhile go out at once, late rather
      // than dropped, and their round trip counts from when they actually left.
      const wait = at - (performance.now() - t0);
      if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
      const id = active[cursor++ % active.length];
      if (paused.has(id)) {
        paused.delete(id);
        send(id, "resume", {}, true);
      } else {
        paused.add(id);
        send(id, "pause", {}, false);
      }
    }
    const left = totalMs - (performance.now() - t0);
    if (left >= 1) await new Promise((r) => setTimeout(r, left));
    const wallS = (performance.now() - t0) / 1000;
    const b1 = procUsage(bridgePid);
    const m1 = brokerPid ? procUsage(brokerPid) : undefined;
    const s1 = procUsage(sims.pid!);
    const c1 = process.cpuUsage(c0);
    const load = loadavg()[0];
    const tlmN = tlm - tlm0;
    const stN = states - st0;
    await waitUntil(() => [...pending.values()].length === 0, 10_000, "outstanding responses").catch(() => undefined);
    const endReasons: Record<string, number> = {};
    for (const why of ended.values()) endReasons[why] = (endReasons[why] ?? 0) + 1;
    for (const id of ids) send(id, "stop", {}, false);

    rtt.sort((a, b) => a - b);
    startRtt.sort((a, b) => a - b);
    const bridgeCpu = b0 && b1 ? ((b1.cpuS - b0.cpuS) / wallS) * 100 : NaN;
    const brokerCpu = m0 && m1 ? ((m1.cpuS - m0.cpuS) / wallS) * 100 : null;
    const simCpu = s0 && s1 ? ((s1.cpuS - s0.cpuS) / wallS) * 100 : NaN;
    const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
    const result: Omit<FleetResult, "target"> = {
      devices: n,
      broker: useMosq ? "mosquitto" : "aedes",
      seconds: round(wallS, 1),
      requests: rtt.length,
      requestErrors: errors,
      sessions: running.size,
      startRefused: startErrors,
      watchdogCleared: retried.size,
      sessionsEnded: ended.size,
      endReasons,
      arrivals,
      rttMs: { p50: round(pct(rtt, 50)), p99: round(pct(rtt, 99)), max: round(rtt[rtt.length - 1] ?? NaN) },
      startRttMs: { p50: round(pct(startRtt, 50)), p99: round(pct(startRtt, 99)) },
      telemetryPerS: Math.round(tlmN / wallS),
      telemetryPerDevicePerS: round(tlmN / wallS / n),
      statePerS: Math.round(stN / wallS),
      cpuPctPerDevice: { bridge: round(bridgeCpu / n, 3), broker: brokerCpu === null ? null : round(brokerCpu / n, 3), sims: round(simCpu / n, 3) },
      memMbPerDevice: { bridge: round((b1?.rssMb ?? NaN) / n, 3), sims: round((s1?.rssMb ?? NaN) / n, 3) },
      bridgeCpuPct: round(bridgeCpu, 1),
      bridgeRssMb: round(b1?.rssMb ?? NaN, 1),
      brokerCpuPct: brokerCpu === null ? null : round(brokerCpu, 1),
      simsCpuPct: round(simCpu, 1),
      simsPolicy,
      clientCpuPct: round(((c1.user + c1.system) / 1e6 / wallS) * 100, 1),
      loadAvg1m: round(load),
      machine,
    };
    return { ...result, target: judgeFleet(result) };
  } finally {
    if (process.env.FLEET_DEBUG) writeFileSync(join(tmpdir(), "fleet-bridge.log"), bridgeLogText());
    if (bridge && bridge.exitCode === null) {
      const exited = new Promise((r) => bridge!.once("exit", r));
      bridge.kill(process.env.FLEET_BRIDGE_NODE_ARGS ? "SIGINT" : "SIGKILL");
      await exited;
    }
    if (sims && sims.exitCode === null) {
      const exited = new Promise((r) => sims!.once("exit", r));
      sims.kill(process.env.FLEET_SIMS_NODE_ARGS ? "SIGINT" : "SIGKILL");
      await exited;
    }
    await obs?.close();
    await ("stop" in broker ? broker.stop() : (broker as { close(): Promise<void> }).close());
    rmSync(dir, { recursive: true, force: true });
  }
}

function printHuman(r: FleetResult): void {
  const lines = [
    `fleet: ${r.devices} devices on ${r.broker}, ${r.seconds} s window (load average ${r.loadAvg1m} at its end)`,
    `  machine (idle, before the run): ${formatMachineSpeed(r.machine)}`,
    `  request round trip (pause/resume via bridge, ${r.arrivals} arrivals): p50 ${r.rttMs.p50} ms, p99 ${r.rttMs.p99} ms, max ${r.rttMs.max} ms (${r.requests} requests, ${r.requestErrors} errors)`,
    `  start round trip (until the session is under way): p50 ${r.startRttMs.p50} ms, p99 ${r.startRttMs.p99} ms; ${r.sessions} sessions running, ${r.startRefused} refused, ${r.watchdogCleared} cleared a latched WATCHDOG first`,
    `  sessions that came back on their own: ${r.sessionsEnded}${r.sessionsEnded ? ` (${Object.entries(r.endReasons).sort((a, b) => b[1] - a[1]).map(([why, k]) => `${why}: ${k}`).join(", ")})` : ""}`,
    `  telemetry: ${r.telemetryPerS} msg/s (${r.telemetryPerDevicePerS} per device), retained state: ${r.statePerS} msg/s`,
    `  bridge process: ${r.bridgeCpuPct}% CPU, ${r.bridgeRssMb} MB RSS; broker ${r.brokerCpuPct ?? "n/a"}% CPU; simulators ${r.simsCpuPct}% CPU (${r.simsPolicy} class); bench client ${r.clientCpuPct}% CPU`,
    `  per device: bridge ${r.cpuPctPerDevice.bridge}% CPU, ${r.memMbPerDevice.bridge} MB; broker ${r.cpuPctPerDevice.broker ?? "n/a"}% CPU; simulators ${r.cpuPctPerDevice.sims}% CPU, ${r.memMbPerDevice.sims} MB`,
    `  target (${FLEET_TARGET_TEXT}): ${formatVerdict(r.target, r.devices)}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const { values } = parseArgs({
    options: {
      devices: { type: "string", default: "50" },
      seconds: { type: "string", default: "8" },
      broker: { type: "string", default: "auto" },
      "request-hz": { type: "string", default: "0.5" },
      arrivals: { type: "string", default: "poisson" },
      seed: { type: "string", default: "1" },
      "sims-sched": { type: "string", default: "idle" },
      "starts-in-flight": { type: "string", default: "4" },
      json: { type: "boolean", default: false },
    },
  });
  const devices = Number(values.devices);
  const seconds = Number(values.seconds);
  if (!Number.isInteger(devices) || devices < 1) throw new Error("--devices: must be a positive integer");
  if (!(seconds > 0)) throw new Error("--seconds: must be > 0");
  const broker = values.broker as FleetOptions["broker"];
  if (!["auto", "aedes", "mosquitto"].includes(broker ?? "")) throw new Error("--broker: must be auto, aedes or mosquitto");
  const startsInFlight = Number(values["starts-in-flight"]);
  if (!Number.isInteger(startsInFlight) || startsInFlight < 1) throw new Error("--starts-in-flight: must be a positive integer");
  const arrivals = values.arrivals as ArrivalPattern;
  if (!ARRIVAL_PATTERNS.includes(arrivals)) throw new Error(`--arrivals: must be ${ARRIVAL_PATTERNS.join(" or ")}`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error("--seed: must be an integer");
  const requestHz = Number(values["request-hz"]);
  if (!(requestHz > 0)) throw new Error("--request-hz: must be > 0");
  const simsSched = values["sims-sched"] as SimSched;
  if (!SIM_SCHEDS.includes(simsSched)) throw new Error(`--sims-sched: must be ${SIM_SCHEDS.join(" or ")}`);
  const r = await runFleetBench({ devices, seconds, broker, requestHz, arrivals, seed, startsInFlight, simsSched, log: values.json ? () => undefined : undefined });
  if (values.json) process.stdout.write(JSON.stringify(r) + "\n");
  else printHuman(r);
  process.exit(0);
}
