// Crash test: a real companion (`invert run --profile ... --device serial:<pty>`) against the stand-alone
// simulator (`invert sim --serial <pty> --trace FILE`) over a socat pseudo-terminal pair, killed with
// SIGKILL at a random point of the session (after a random number of telemetry samples). Each time:
// the device must return upright on its own, slowly (read from its trace), and the history database must
// open cleanly (integrity check) with the session marked `aborted`.
//
//   npm run crash -- --runs 20 [--seed 1] [--json]
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { mulberry32 } from "../protocol/index.js";
import { openStore } from "../src/store/index.js";
import { openPtyPair } from "../test/helpers/socat.js";
import { hasTool } from "../test/helpers/real-io.js";
import { waitFor } from "../test/helpers/wait.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "invert.js");

/** A fast return (short rest and pause, narrow approach zone) so each run takes seconds. */
export const FAST_RETURN_SIM = { tilt: { restS: 1, pauseS: 0.5, returnSpeed: 8, approachZone: 2, settleMs: 200 } };
const UPRIGHT = -80;
const APPROACH_ZONE = FAST_RETURN_SIM.tilt.approachZone;
const APPROACH_SPEED = 1;
const PROGRAM = {
  name: "crash-test",
  steps: [
    { type: "ramp", to: 18, speed: 8 },
    { type: "hold", seconds: 3 },
    { type: "pump", from: 5, to: 18, cycles: 1, speed: 6 },
  ],
};

export interface CrashRun {
  /** Telemetry samples seen between the first motion and the kill. */
  killAfterSamples: number;
  /** Device state at the kill. */
  killedAt: { tilt: number; mode: string };
  /** Wall ms from the kill until the device reported itself at rest upright. */
  uprightAfterMs?: number;
  /** Fastest speed while in the final approach zone after the kill, deg/s. */
  approachMaxSpeed?: number;
  session?: { id: number; outcome: string | null; reason: string | null; recovered: number; samples: number };
  integrity?: string;
  problems: string[];
}

export interface CrashReport {
  runs: CrashRun[];
  failures: number;
  skipped?: string;
  wallS: number;
}

interface TraceLine {
  type: string;
  tilt?: number;
  vel?: number;
  mode?: string;
  code?: string;
  ts: number;
}

function readTrace(file: string): TraceLine[] {
  if (!existsSync(file)) return [];
  const out: TraceLine[] = [];
  for (const l of readFileSync(file, "utf8").split("\n")) {
    if (!l) continue;
    try {
      out.push(JSON.parse(l) as TraceLine);
    } catch {
      // The last line may be half-written while the simulator runs.
    }
  }
  return out;
}

function node(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
}

const exited = (p: ChildProcess): Promise<void> => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once("exit", () => r())));

export async function crashOnce(killAfterSamples: number, seed: number): Promise<CrashRun> {
  const dir = mkdtempSync(join(tmpdir(), "invert-crash-"));
  const home = join(dir, "home");
  const env = { ...process.env, INVERT_HOME: home, NO_COLOR: "1" };
  const trace = join(dir, "trace.jsonl");
  const simCfg = join(dir, "sim.json");
  const prog = join(dir, "crash-test.json");
  writeFileSync(simCfg, JSON.stringify(FAST_RETURN_SIM));
  writeFileSync(prog, JSON.stringify(PROGRAM));
  const run: CrashRun = { killAfterSamples, killedAt: { tilt: NaN, mode: "?" }, problems: [] };
  const created = spawnSync(process.execPath, [BIN, "profile", "create", "crash", "--weight", "75", "--height", "178", "--no-contraindications"], { env, encoding: "utf8" });
  if (created.status !== 0) throw new Error(`profile create failed: ${created.stderr.trim()}`);
  const pair = await openPtyPair();
  let sim: ChildProcess | undefined;
  let companion: ChildProcess | undefined;
  try {
    sim = node(["sim", "--serial", pair.b, "--trace", trace, "--config", simCfg, "--seed", String(seed)], env);
    await waitFor(() => readTrace(trace).some((l) => l.type === "evt" && l.code === "BOOT"), 15_000, "the simulator's BOOT event in its trace");
    const before = readTrace(trace).length;
    companion = node(["run", prog, "--profile", "crash", "--device", `serial:${pair.a}`], env);
    let companionErr = "";
    companion.stderr?.setEncoding("utf8");
    companion.stderr?.on("data", (s: string) => (companionErr = (companionErr + s).slice(-2000)));
    // The kill point is an event (the n-th telemetry sample since the table started to move), not a timer.
    const sinceMotion = (): number => {
      const tlm = readTrace(trace).slice(before).filter((l) => l.type === "tlm");
      const first = tlm.findIndex((l) => l.mode !== "idle");
      return first < 0 ? -1 : tlm.length - first;
    };
    await waitFor(
      () => sinceMotion() >= killAfterSamples || companion?.exitCode !== null,
      120_000,
      `${killAfterSamples} telemetry samples`,
    );
    if (companion.exitCode !== null) {
      run.problems.push(`companion ended on its own before the kill (exit ${companion.exitCode}): ${companionErr.trim().split("\n").slice(-2).join(" | ")}`);
    }
    companion.kill("SIGKILL");
    await exited(companion);
    const killTs = Date.now();
    const atKill = readTrace(trace).filter((l) => l.type === "tlm").pop();
    run.killedAt = { tilt: atKill?.tilt ?? NaN, mode: atKill?.mode ?? "?" };
    // The device alone: watchdog, then its own slow return, until at rest upright.
    const restingUpright = (l: TraceLine) =>
      l.type === "tlm" && l.ts > killTs && Math.abs((l.tilt ?? NaN) - UPRIGHT) <= 0.6 && l.vel === 0 && (l.mode === "idle" || l.mode === "fault");
    try {
      await waitFor(() => readTrace(trace).some(restingUpright), 120_000, "the device at rest upright after the kill");
      const lines = readTrace(trace).filter((l) => l.type === "tlm" && l.ts > killTs);
      run.uprightAfterMs = (lines.find(restingUpright)?.ts ?? NaN) - killTs;
      // Moving toward upright inside the approach zone: no faster than the approach speed. (Leaving
      // upright at program speed when the kill came right at the start is not an approach.)
      const upAt = lines.findIndex(restingUpright);
      const zone = lines.slice(0, upAt).filter((l) => (l.tilt ?? 0) < UPRIGHT + APPROACH_ZONE - 0.5);
      run.approachMaxSpeed = zone.reduce((m, l) => Math.max(m, -(l.vel ?? 0)), 0);
      if (run.approachMaxSpeed > APPROACH_SPEED + 0.05) run.problems.push(`final approach at ${run.approachMaxSpeed} deg/s`);
    } catch (e) {
      const last = readTrace(trace).filter((l) => l.type === "tlm").pop();
      run.problems.push(`${(e as Error).message}; last sample: tilt ${last?.tilt} ${last?.mode}`);
    }
  } finally {
    if (companion && companion.exitCode === null) {
      companion.kill("SIGKILL");
      await exited(companion);
    }
    if (sim) {
      sim.kill("SIGTERM");
      await exited(sim);
    }
    await pair.close();
  }
  // History: must open cleanly and show the killed session as aborted.
  try {
    const store = openStore(home);
    try {
      run.integrity = String(store.db.pragma("integrity_check", { simple: true }));
      if (run.integrity !== "ok") run.problems.push(`integrity_check: ${run.integrity}`);
      const list = store.sessions.list();
      const last = list[list.length - 1] as { id: number } | undefined;
      if (!last) run.problems.push("no session in history (killed before the session row was written?)");
      else {
        const rec = store.sessions.get(last.id);
        run.session = { id: rec.id, outcome: rec.outcome, reason: rec.reason, recovered: store.recoveredSessions, samples: store.sessions.samples(rec.id).length };
        if (rec.outcome !== "aborted") run.problems.push(`session ${rec.id} is "${rec.outcome}", not aborted`);
      }
    } finally {
      store.close();
    }
  } catch (e) {
    run.problems.push(`history database: ${(e as Error).message}`);
  }
  rmSync(dir, { recursive: true, force: true });
  return run;
}

export async function runCrashTest(opts: { runs: number; seed: number; log?: (s: string) => void }): Promise<CrashReport> {
  const t0 = performance.now();
  if (!hasTool("socat")) return { runs: [], failures: 0, skipped: "socat is not installed (apt install socat)", wallS: 0 };
  const rng = mulberry32(opts.seed);
  const runs: CrashRun[] = [];
  for (let i = 0; i < opts.runs; i++) {
    // 10 Hz telemetry: from the first motion to well into the companion's own return.
    const k = Math.floor(rng() * 300);
    const r = await crashOnce(k, opts.seed + i);
    runs.push(r);
    opts.log?.(
      `run ${i + 1}: killed after ${k} samples at ${r.killedAt.tilt.toFixed(1)} deg (${r.killedAt.mode}); upright ${r.uprightAfterMs ?? "never"} ms later; session ${r.session?.outcome ?? "-"}${r.problems.length ? `; PROBLEMS: ${r.problems.join("; ")}` : ""}`,
    );
  }
  return { runs, failures: runs.filter((r) => r.problems.length).length, wallS: (performance.now() - t0) / 1000 };
}

async function main(argv: string[]): Promise<number> {
  let runs = 10;
  let seed = 1;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") json = true;
    else if (a === "--runs" || a === "--seed") {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < (a === "--runs" ? 1 : 0)) {
        console.error(`${a}: must be an integer ${a === "--runs" ? ">= 1" : ">= 0"}, got "${argv[i] ?? ""}"`);
        return 2;
      }
      if (a === "--runs") runs = v;
      else seed = v;
    } else {
      console.error(`unknown option "${a}" (use --runs N, --seed S, --json)`);
      return 2;
    }
  }
  const r = await runCrashTest({ runs, seed, log: json ? undefined : (s) => console.log(s) });
  if (json) console.log(JSON.stringify(r));
  else if (r.skipped) console.log(`crash test skipped: ${r.skipped}`);
  else console.log(`crash test: ${r.runs.length} runs, ${r.failures} failed, ${r.wallS.toFixed(1)} s`);
  return r.failures ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((c) => (process.exitCode = c));
}
