// One error type for everything the store refuses, so the CLI can print its message as the one line.
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

/** True for SQLite errors that mean "cannot write here" (disk full, read-only, I/O), not a bug. */
export function isWriteFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|CORRUPT|NOTADB|PERM|BUSY|LOCKED)/.test(code);
}
