// Small text formatters shared by the live view, the plan preview and the summary.

/** Seconds as m:ss (h:mm:ss from an hour), rounded to the second. */
export function clock(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

export function deg(x: number, digits = 1): string {
  // -0.0 reads as a sign error on a display people trust with their head-down angle.
  const v = Number(x.toFixed(digits));
  return `${(Object.is(v, -0) ? 0 : v).toFixed(digits)}°`;
}

export function newtons(x: number): string {
  return `${Math.round(x)} N`;
}

/** Wall-clock time of day, HH:MM:SS (UTC, as in every log line of the project). */
export function timeOfDay(d: Date): string {
  return d.toISOString().slice(11, 19);
}

/** Cuts a line to `width` characters so a redrawn area never wraps (wrapping breaks the cursor math). */
export function fit(line: string, width: number): string {
  const w = Math.max(10, width);
  return [...line].length <= w ? line : `${[...line].slice(0, w - 1).join("")}…`;
}
