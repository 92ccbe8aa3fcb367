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

/** True for any error raised by SQLite itself (better-sqlite3's SqliteError carries the SQLite code). */
export function isSqliteError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_");
}

/** What the user can do about a SQLite error code; the message SQLite gives says what happened. */
function advice(code: string): string {
  if (code.startsWith("SQLITE_FULL")) return "free some space on its disk and try again";
  if (code.startsWith("SQLITE_CORRUPT") || code.startsWith("SQLITE_NOTADB")) {
    return "the file is damaged: restore it from a backup, or move it aside to start a new history";
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return "another invert is using it: try again when it has finished";
  if (code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_PERM") || code.startsWith("SQLITE_CANTOPEN")) {
    return "check that its disk is writable and has free space, or set INVERT_HOME to a writable folder";
  }
  if (code.startsWith("SQLITE_IOERR")) return "check its disk (free space, errors) and try again";
  return "check the file and its disk, and try again";
}

/**
 * A SQLite error met while using the store, as a StoreError naming the file and what to do (one line,
 * the exit code of other store errors). SQLite reports a full disk, a read-only medium or a damaged
 * file this way: bad conditions of the user's disk, not bugs. Other errors are returned unchanged.
 */
export function storeFailure(err: unknown, file: string, doing = "cannot use"): unknown {
  if (err instanceof StoreError || !isSqliteError(err)) return err;
  const code = (err as { code: string }).code;
  const msg = (err instanceof Error ? err.message : String(err)).split("\n")[0].trim() || code;
  return new StoreError(`${doing} ${file}: ${msg}; ${advice(code)}`);
}
