// Extremes of long series (every sample of a session) by a loop: Math.max(...array) passes each element
// as an argument, and a few hours at 10 Hz overflow the call stack.

export function maxOf(values: Iterable<number>, start = -Infinity): number {
  let m = start;
  for (const v of values) if (v > m) m = v;
  return m;
}

export function minOf(values: Iterable<number>, start = Infinity): number {
  let m = start;
  for (const v of values) if (v < m) m = v;
  return m;
}
