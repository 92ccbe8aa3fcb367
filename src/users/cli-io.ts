// What the profile/history/report commands touch outside themselves, so tests run them in-process
// against a temporary store and captured output.
import { openStore, type Store } from "../store/index.js";

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  stdin: NodeJS.ReadableStream;
  isTTY: boolean;
  now(): Date;
  openStore(): Store;
}

export function processIO(): CliIO {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    stdin: process.stdin,
    isTTY: process.stdin.isTTY === true,
    now: () => new Date(),
    openStore: () => openStore(),
  };
}

/** Opens the store for one command and always closes it. */
export async function withStore<T>(io: CliIO, fn: (store: Store) => T | Promise<T>): Promise<T> {
  const store = io.openStore();
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

export function json(v: unknown): string {
  return JSON.stringify(v, null, 2) + "\n";
}

/** Left-aligned text columns. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join("  ").trimEnd();
  return [line(head), ...rows.map(line)].join("\n") + "\n";
}
