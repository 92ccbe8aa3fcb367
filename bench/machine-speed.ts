// Two figures that place a machine among others of its kind, so fleet figures from different machines
// can be compared: how fast it runs JavaScript (a bare JSON.parse of telemetry payloads, the codec
// bench's floor) and what one system call costs (page-table isolation makes it ten times dearer, and the
// fleet is made of small socket reads and writes). Both are measured on the machine as it is, so run
// them idle, before the load starts.
import { realisticTlm } from "./codec.js";

export interface MachineSpeed {
  /** Bare JSON.parse of realistic telemetry payloads, per second: the median of short rounds. */
  jsonParsePerS: number;
  /** The slowest and fastest rounds. A wide spread means the machine's speed varies while it runs. */
  jsonParsePerSRange: [number, number];
  /** One `getppid` system call through Node (`process.ppid` asks the kernel every time), in µs: median. */
  syscallUs: number;
}

export function measureMachineSpeed(opts: { roundMs?: number; rounds?: number } = {}): MachineSpeed {
  const roundMs = opts.roundMs ?? 100;
  const rounds = opts.rounds ?? 15;
  const payloads = Array.from({ length: 2000 }, (_, i) => JSON.stringify(realisticTlm(i)));
  parseRound(payloads, roundMs); // warm-up, so the timed rounds run optimized code
  syscallRound(roundMs);
  // Many short rounds rather than one long one: on a shared virtual machine the speed can change by half
  // from one tenth of a second to the next, and the spread is worth reporting too.
  const parse: number[] = [];
  const calls: number[] = [];
  for (let r = 0; r < rounds; r++) {
    parse.push(parseRound(payloads, roundMs));
    if (r % 3 === 0) calls.push(syscallRound(roundMs));
  }
  parse.sort((x, y) => x - y);
  calls.sort((x, y) => x - y);
  const median = (xs: number[]) => xs[Math.floor(xs.length / 2)];
  return {
    jsonParsePerS: Math.round(median(parse)),
    jsonParsePerSRange: [Math.round(parse[0]), Math.round(parse[parse.length - 1])],
    syscallUs: Math.round((1e6 / median(calls)) * 1000) / 1000,
  };
}

/** One line for reports: "bare JSON.parse 558,121 telemetry payloads/s (rounds 328,688-782,176), one system call (getppid) 0.429 µs". */
export function formatMachineSpeed(m: MachineSpeed): string {
  const n = (x: number) => x.toLocaleString("en-US");
  return `bare JSON.parse ${n(m.jsonParsePerS)} telemetry payloads/s (rounds ${n(m.jsonParsePerSRange[0])}-${n(m.jsonParsePerSRange[1])}), one system call (getppid) ${m.syscallUs} µs`;
}

// Module state the loops add to, so they cannot be optimized away.
let sink = 0;

// Two plain loops rather than one loop taking a callback: a shared loop turns polymorphic once it has
// seen both bodies and then measures the call, not the work.
function parseRound(payloads: string[], minMs: number): number {
  let n = 0;
  const t0 = performance.now();
  let dt = 0;
  while (dt < minMs) {
    for (let i = 0; i < payloads.length; i++) sink += (JSON.parse(payloads[i]) as { seq: number }).seq & 1;
    n += payloads.length;
    dt = performance.now() - t0;
  }
  return (n / dt) * 1000;
}

function syscallRound(minMs: number): number {
  let n = 0;
  const t0 = performance.now();
  let dt = 0;
  while (dt < minMs) {
    for (let i = 0; i < 10_000; i++) sink += process.ppid & 1;
    n += 10_000;
    dt = performance.now() - t0;
  }
  return (n / dt) * 1000;
}
