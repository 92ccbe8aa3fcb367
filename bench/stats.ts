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

/** Measures `n` sequential round trips of `once` after `warmup` unmeasured ones. */
export async function timeRoundTrips(n: number, warmup: number, once: (i: number) => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once(-1 - i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once(i);
    out.push(performance.now() - t);
  }
  return out;
}

/** Resolves when `p` does, or rejects after `ms` with `what` in the message. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
