// Shared figures for the latency benchmarks: percentiles and the floor ratio.
export interface LatencyFigures {
  n: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

export function latency(samplesMs: readonly number[]): LatencyFigures {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return { n: s.length, p50Ms: r3(at(0.5)), p99Ms: r3(at(0.99)), meanMs: r3(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)) };
}

export const ratio = (x: number, floor: number): number => Math.round((x / floor) * 100) / 100;

/**
 * Measures `n` round trips of each contender in alternating blocks of `block`, after `warmup` unmeasured
 * ones of each. Other processes on the shared cores come in bursts of milliseconds: with long blocks a
 * burst lands on one contender only and moves the ratio, short blocks spread it over both. Each block
 * starts with one unmeasured round trip, so every measured one follows one of its own kind and pays for
 * that one's trailing work (write completions, re-armed reads), as back-to-back commands do, and never
 * for the other contender's.
 */
export async function timeAlternating(
  n: number,
  warmup: number,
  a: (i: number) => Promise<void>,
  b: (i: number) => Promise<void>,
  block = 10,
): Promise<[number[], number[]]> {
  // Each contender's calls are numbered on, measured or not, so `i` alternates from call to call.
  const sides = [a, b].map((once) => ({ once, calls: 0, samples: [] as number[] }));
  for (let k = 0; k < warmup; k++) for (const s of sides) await s.once(s.calls++);
  while (sides[0].samples.length < n) {
    const count = Math.min(block, n - sides[0].samples.length);
    for (const s of sides) {
      await s.once(s.calls++);
      for (let k = 0; k < count; k++) {
        const t = performance.now();
        await s.once(s.calls++);
        s.samples.push(performance.now() - t);
      }
    }
  }
  return [sides[0].samples, sides[1].samples];
}

/** Resolves when `p` does, or rejects after `ms` with `what` in the message. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
