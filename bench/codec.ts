// Codec throughput: decode + validate of realistic telemetry frames (CRC, UTF-8 check, JSON, schema),
// compared with a bare JSON.parse of the same payloads in the same run, so the ratio is meaningful on
// any machine. `npm run bench:codec [-- --json] [-- --frames N]`.
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { ACCEPTS, decodeFrame, encodeFrame, type TelemetryMsg } from "../protocol/index.js";

export interface CodecBenchOptions {
  /** Distinct frames in the working set (cycled). */
  frames?: number;
  /** Minimum measuring time per contender, ms. */
  minMs?: number;
  /** Repetitions; the best one counts (least disturbed by GC and other processes). */
  rounds?: number;
}

export interface CodecBenchResult {
  frames: number;
  frameBytesAvg: number;
  decodeFramesPerS: number;
  jsonParseFramesPerS: number;
  /** How many times slower decode+validate is than the bare JSON.parse (lower is better). */
  ratio: number;
  targets: { minFramesPerS: number; maxRatio: number };
  pass: boolean;
}

/** A realistic telemetry message, as a device sends it at 10 Hz while moving. */
export function realisticTlm(i: number): TelemetryMsg {
  const tilt = Math.round((-80 + ((i * 0.37) % 170)) * 100) / 100;
  return {
    v: 1,
    seq: i >>> 0,
    type: "tlm",
    t: 1000 + i * 100,
    tilt,
    tilt2: Math.round((tilt + 0.04) * 100) / 100,
    vel: i % 7 === 0 ? 0 : 3.5,
    force: (i * 13) % 400,
    current: Math.round((1 + (i % 50) / 25) * 100) / 100,
    lock: true,
    sw: "ok",
    mode: i % 7 === 0 ? "holding" : "moving",
    faults: i % 97 === 0 ? ["WATCHDOG"] : [],
    rxErr: i % 3,
  };
}

/**
 * Times two contenders in alternating batches, so both see the same machine load (other processes,
 * CPU frequency changes) and their ratio stays meaningful on a busy machine. Returns ops/s for each.
 */
function measurePair(n: number, minMs: number, a: (i: number) => void, b: (i: number) => void): [number, number] {
  // Warm up so both contenders run optimized code.
  for (let i = 0; i < n * 3; i++) {
    a(i % n);
    b(i % n);
  }
  let ta = 0;
  let tb = 0;
  let count = 0;
  while (ta + tb < 2 * minMs) {
    let s = performance.now();
    for (let i = 0; i < n; i++) a(i);
    ta += performance.now() - s;
    s = performance.now();
    for (let i = 0; i < n; i++) b(i);
    tb += performance.now() - s;
    count += n;
  }
  return [(count / ta) * 1000, (count / tb) * 1000];
}

export function runCodecBench(opts: CodecBenchOptions = {}): CodecBenchResult {
  const n = opts.frames ?? 2000;
  const minMs = opts.minMs ?? 500;
  const rounds = opts.rounds ?? 3;
  // Lines as the LineSplitter hands them over: bytes without the terminator.
  const lines = Array.from({ length: n }, (_, i) => Buffer.from(encodeFrame(realisticTlm(i)).slice(0, -1), "utf8"));
  const payloads = lines.map((l) => l.subarray(0, l.length - 5).toString("utf8"));
  const accept = ACCEPTS.companion;
  let sink = 0;
  for (const l of lines) {
    const r = decodeFrame(l, accept);
    if (!r.ok) throw new Error(`bench frame rejected: ${r.detail}`);
  }
  const runs: { decode: number; parse: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    const [decode, parse] = measurePair(
      n,
      minMs,
      (i) => {
        if (decodeFrame(lines[i], accept).ok) sink++;
      },
      (i) => {
        sink += (JSON.parse(payloads[i]) as { seq: number }).seq & 1;
      },
    );
    runs.push({ decode, parse });
  }
  // The least disturbed round (fastest decode) is reported with the parse rate measured alongside it.
  const best = runs.reduce((x, y) => (y.decode > x.decode ? y : x));
  if (sink < 0) console.log(sink); // keeps the loops from being optimized away
  const ratio = best.parse / best.decode;
  const targets = { minFramesPerS: 300_000, maxRatio: 4 };
  return {
    frames: n,
    frameBytesAvg: Math.round(lines.reduce((s, l) => s + l.length + 1, 0) / n),
    decodeFramesPerS: Math.round(best.decode),
    jsonParseFramesPerS: Math.round(best.parse),
    ratio: Math.round(ratio * 100) / 100,
    targets,
    pass: best.decode >= targets.minFramesPerS && ratio <= targets.maxRatio,
  };
}

function main(argv: string[]): void {
  const json = argv.includes("--json");
  const fi = argv.indexOf("--frames");
  const frames = fi >= 0 ? Number(argv[fi + 1]) : undefined;
  if (frames !== undefined && !(Number.isInteger(frames) && frames > 0)) {
    console.error("--frames: must be a positive integer");
    process.exitCode = 2;
    return;
  }
  const r = runCodecBench({ frames });
  if (json) {
    console.log(JSON.stringify(r));
    return;
  }
  const f = (x: number) => x.toLocaleString("en-US");
  console.log(`codec bench: ${r.frames} realistic tlm frames, ${r.frameBytesAvg} bytes each on average`);
  console.log(`  decode+validate (CRC, UTF-8, JSON, schema): ${f(r.decodeFramesPerS)} frames/s  (target >= ${f(r.targets.minFramesPerS)})`);
  console.log(`  bare JSON.parse of the same payloads:       ${f(r.jsonParseFramesPerS)} frames/s`);
  console.log(`  ratio: ${r.ratio}x slower than bare parse  (target <= ${r.targets.maxRatio}x)  ${r.pass ? "PASS" : "MISS"}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
