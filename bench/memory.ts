// Steady-state heap of a 1-hour session in virtual time (full stack in-process, recorded into a
// temporary SQLite history): heapUsed after a full GC every simulated minute, the slope of a
// least-squares line through the samples after a warm-up, and whether that counts as flat.
// Needs --expose-gc: run alone it re-executes itself with the flag.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseProgram } from "../src/programs/schema.js";
import { attachRecorder, openStore } from "../src/store/index.js";
import { fullStack } from "./virtual-time.js";

export interface MemoryResult {
  /** Whether the session was recorded into SQLite history (as `invert run` does). */
  recorded: boolean;
  simulatedMin: number;
  samples: number;
  telemetrySamples: number;
  heapStartMB: number;
  heapEndMB: number;
  /** KB of heap per simulated minute, after the warm-up. */
  slopeKBPerMin: number;
  /** Growth the slope would give over the hour, KB. */
  growthPerHourKB: number;
  /** Heap growth per telemetry sample, bytes (a retained sample would cost well over 100 bytes). */
  bytesPerSample: number;
  flat: boolean;
  /** Flat means under this many bytes per telemetry sample: no sample, event or closure is kept. */
  flatBelowBytesPerSample: number;
}

/** Rocks between -60 and -10 (never head-down, so the 900 s inverted cap does not end it) for an hour. */
const HOUR = parseProgram({
  name: "bench-hour",
  steps: [
    { type: "ramp", to: -30, speed: 5 },
    { type: "pump", from: -60, to: -10, cycles: 100, dwell: 8, speed: 5 },
    { type: "pump", from: -60, to: -10, cycles: 20, dwell: 8, speed: 5 },
  ],
});

// The first minutes hold JIT compilation and caches filling up: not steady state.
const WARMUP_MIN = 20;
const FLAT_BYTES_PER_SAMPLE = 8;

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** In this process; `gc` must be exposed. */
export function measureMemory(minutes = 60, record = true): MemoryResult {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("memory bench: run node with --expose-gc");
  const dir = mkdtempSync(join(tmpdir(), "invert-membench-"));
  const store = openStore(dir);
  try {
    const fs = fullStack(HOUR, { simConfig: { tilt: { restS: 5, pauseS: 2 } } });
    if (record) attachRecorder(store, fs.session, { kind: "program", programName: HOUR.name, program: HOUR }, { clock: fs.clock });
    let tlm = 0;
    fs.session.onSample(() => tlm++);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let m = 1; m <= minutes && !fs.ended(); m++) {
      fs.clock.advance(60_000);
      gc();
      if (m >= WARMUP_MIN) {
        xs.push(m);
        ys.push(process.memoryUsage().heapUsed / 1024);
      }
    }
    fs.session.abandon("bench over");
    fs.device.stop();
    const s = slope(xs, ys);
    const growth = s * 60;
    const perSample = tlm > 0 ? (s * 1024) / (tlm / (fs.clock.now() / 60_000)) : 0;
    return {
      recorded: record,
      simulatedMin: fs.clock.now() / 60_000,
      samples: xs.length,
      telemetrySamples: tlm,
      heapStartMB: Math.round((ys[0] ?? 0) / 102.4) / 10,
      heapEndMB: Math.round((ys[ys.length - 1] ?? 0) / 102.4) / 10,
      slopeKBPerMin: Math.round(s * 100) / 100,
      growthPerHourKB: Math.round(growth),
      bytesPerSample: Math.round(perSample * 100) / 100,
      flat: perSample < FLAT_BYTES_PER_SAMPLE,
      flatBelowBytesPerSample: FLAT_BYTES_PER_SAMPLE,
    };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** In a child process with --expose-gc (the figure is then not disturbed by the caller's heap either). */
function inChild(minutes: number, record: boolean): MemoryResult {
  const self = fileURLToPath(import.meta.url);
  const args = ["--expose-gc", "--import", "tsx", self, "--child", String(minutes), record ? "record" : "bare"];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", cwd: join(self, "..", "..") });
  if (r.status !== 0) throw new Error(`memory bench failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as MemoryResult;
}

export interface MemoryBenchResult extends MemoryResult {
  /** The same session without the history recorder, to tell where growth comes from. */
  withoutRecorder: MemoryResult;
}

/** The session as `invert run` has it (recorded), and the bare session for comparison. */
export function runMemoryBench(minutes = 60): MemoryBenchResult {
  return { ...inChild(minutes, true), withoutRecorder: inChild(minutes, false) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf("--child");
  if (i >= 0) console.log(JSON.stringify(measureMemory(Number(process.argv[i + 1] ?? 60), process.argv[i + 2] !== "bare")));
  else console.log(JSON.stringify(runMemoryBench(), null, 2));
}
