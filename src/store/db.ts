// Opens (creating if needed) the invert database: WAL for crash safety with a writer and readers,
// migrations, then closes sessions a previous crash left open.
import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { StoreError, isWriteFailure } from "./errors.js";
import { migrate, schemaVersion } from "./migrate.js";
import { MIGRATIONS, type Migration } from "./migrations/index.js";
import { ensureDataDir } from "./paths.js";
import { ProfileRepo } from "./profile-repo.js";
import { SessionRepo } from "./session-repo.js";

export const DB_FILE = "invert.db";

export interface OpenStoreOptions {
  /** Wall clock for stored dates (tests inject one). */
  now?: () => Date;
  /** For tests of future schemas. */
  migrations?: readonly Migration[];
  /** Open without writing anything (viewing history on a read-only medium); the schema must already be current. */
  readonly?: boolean;
  /** Opens the SQLite connection (tests inject failures). */
  openDb?: (file: string, options: Database.Options) => Database.Database;
}

export interface Store {
  readonly dir: string;
  readonly file: string;
  readonly db: Database.Database;
  readonly profiles: ProfileRepo;
  readonly sessions: SessionRepo;
  /** Set when the database could only be opened read-only (and why). */
  readonly readonlyReason?: string;
  /** Sessions found open (a crash) and marked aborted by this open. */
  readonly recoveredSessions: number;
  readonly now: () => Date;
  close(): void;
}

type OpenDb = (file: string, options: Database.Options) => Database.Database;

function connect(file: string, readonly: boolean, migrations: readonly Migration[], openDb: OpenDb): Database.Database {
  const db = openDb(file, { readonly, fileMustExist: readonly });
  try {
    db.pragma("busy_timeout = 2000");
    if (readonly) {
      const pending = migrations.filter((m) => m.version > schemaVersion(db));
      if (pending.length) throw new StoreError(`${file} needs a schema upgrade and was opened read-only`);
      // Still refuses a database newer than the code.
      migrate(db, migrations, file);
    } else {
      db.pragma("journal_mode = WAL");
      // NORMAL in WAL mode keeps committed transactions across a process kill; only power loss may drop the last ones.
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
      migrate(db, migrations, file);
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function cannotWrite(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return isWriteFailure(err) || code === "EACCES" || code === "EROFS" || code === "EPERM";
}

export function openStore(dir?: string, opts: OpenStoreOptions = {}): Store {
  let d: string;
  try {
    d = ensureDataDir(dir);
  } catch (err) {
    throw new StoreError(`cannot create data directory: ${(err as Error).message}`);
  }
  const file = join(d, DB_FILE);
  const migrations = opts.migrations ?? MIGRATIONS;
  const openDb: OpenDb = opts.openDb ?? ((f, o) => new Database(f, o));
  let db: Database.Database;
  let readonlyReason: string | undefined;
  try {
    db = connect(file, opts.readonly === true, migrations, openDb);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    // A read-only medium or a full disk: history stays readable (and the ramp-up computable); writes
    // then fail once, reported by whoever tries (the recorder), and never stop a session.
    if (!opts.readonly && cannotWrite(err) && existsSync(file)) {
      try {
        db = connect(file, true, migrations, openDb);
        readonlyReason = `${file} is not writable (${(err as Error).message}); opened read-only`;
      } catch (err2) {
        if (err2 instanceof StoreError) throw err2;
        throw new StoreError(`cannot open ${file}: ${(err as Error).message}`);
      }
    } else {
      throw new StoreError(`cannot open ${file}: ${(err as Error).message}`);
    }
  }
  const now = opts.now ?? (() => new Date());
  const profiles = new ProfileRepo(db, now);
  const sessions = new SessionRepo(db, now);
  let recovered = 0;
  if (!opts.readonly && !readonlyReason) {
    try {
      recovered = sessions.closeOpen();
    } catch {
      // A database that has become unwritable can still be read (history, reports); writes report their own error.
    }
  }
  return {
    dir: d,
    file,
    db,
    profiles,
    sessions,
    recoveredSessions: recovered,
    readonlyReason,
    now,
    close: () => {
      if (db.open) db.close();
    },
  };
}
