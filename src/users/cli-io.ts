// What the profile/history/report commands touch outside themselves, so tests run them in-process
// against a temporary store and captured output.
import { StoreError, openStore, storeFailure, type Store } from "../store/index.js";

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

function failureOf(err: unknown, store: Store): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  // On a store opened read-only, SQLite's "attempt to write a readonly database" hides the real cause
  // (a full disk, say), which the store kept.
  if (store.readonlyReason !== undefined && typeof code === "string" && code.startsWith("SQLITE_READONLY")) {
    return new StoreError(`${store.readonlyReason}, so nothing was changed; check that its disk is writable and has free space`);
  }
  return storeFailure(err, store.file);
}

/**
 * Opens the store for one command and always closes it. A SQLite error on the way (full disk, damaged
 * file) is the user's disk, not a bug: it becomes one StoreError line naming the file and what to do.
 */
export async function withStore<T>(io: CliIO, fn: (store: Store) => T | Promise<T>): Promise<T> {
  const store = io.openStore();
  let failure: unknown;
  try {
    return await fn(store);
  } catch (err) {
    failure = failureOf(err, store);
    throw failure;
  } finally {
    try {
      store.close();
    } catch (err) {
      // A failing close must not hide the command's own error; alone, it is reported like one.
      if (failure === undefined) throw storeFailure(err, store.file);
    }
  }
}

export function json(v: unknown): string {
  return JSON.stringify(v, null, 2) + "\n";
}

/** Left-aligned text columns. */
export function table(head: string[], rows: string[][]): string {
  // A loop, not a spread: a long history has more rows than a call may take as arguments.
  const w = head.map((h, i) => rows.reduce((m, r) => Math.max(m, (r[i] ?? "").length), h.length));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join("  ").trimEnd();
  return [line(head), ...rows.map(line)].join("\n") + "\n";
}
