// Opens (creating if needed) the invert database: WAL for crash safety with a writer and readers,
// migrations, then closes sessions a previous crash left open.
import Database from "better-sqlite3";
import { join } from "node:path";
import { StoreError } from "./errors.js";
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
}

export interface Store {
  readonly dir: string;
  readonly file: string;
  readonly db: Database.Database;
  readonly profiles: ProfileRepo;
  readonly sessions: SessionRepo;
  /** Sessions found open (a crash) and marked aborted by this open. */
  readonly recoveredSessions: number;
  readonly now: () => Date;
  close(): void;
}

export function openStore(dir?: string, opts: OpenStoreOptions = {}): Store {
  let d: string;
  try {
    d = ensureDataDir(dir);
  } catch (err) {
    throw new StoreError(`cannot create data directory: ${(err as Error).message}`);
  }
  const file = join(d, DB_FILE);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: opts.readonly === true, fileMustExist: opts.readonly === true });
  } catch (err) {
    throw new StoreError(`cannot open ${file}: ${(err as Error).message}`);
  }
  try {
    db.pragma("busy_timeout = 2000");
    if (opts.readonly) {
      const pending = (opts.migrations ?? MIGRATIONS).filter((m) => m.version > schemaVersion(db));
      if (pending.length) throw new StoreError(`${file} needs a schema upgrade and was opened read-only`);
      migrate(db, opts.migrations ?? MIGRATIONS, file);
    } else {
      db.pragma("journal_mode = WAL");
      // NORMAL in WAL mode keeps committed transactions across a process kill; only power loss may drop the last ones.
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
      migrate(db, opts.migrations ?? MIGRATIONS, file);
    }
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot open ${file}: ${(err as Error).message}`);
  }
  const now = opts.now ?? (() => new Date());
  const profiles = new ProfileRepo(db, now);
  const sessions = new SessionRepo(db, now);
  let recovered = 0;
  if (!opts.readonly) {
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
    now,
    close: () => {
      if (db.open) db.close();
    },
  };
}
