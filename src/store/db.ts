// Opens (creating if needed) the invert database: WAL for crash safety with a writer and readers while
// open (one self-contained file once closed), migrations, then closes sessions a previous crash left
// open. A database that cannot be written (read-only medium, full disk) is opened read-only.
import Database from "better-sqlite3";
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { StoreError, isWriteFailure, storeFailure } from "./errors.js";
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

/** One line naming the file; SQLite errors also say what to do. */
function cannotOpen(err: unknown, file: string): StoreError {
  const e = storeFailure(err, file, "cannot open");
  return e instanceof StoreError ? e : new StoreError(`cannot open ${file}: ${(err as Error).message}`);
}

/** True when the -wal file holds changes not yet copied into the database file. */
function walHasContent(file: string): boolean {
  try {
    return statSync(`${file}-wal`).size > 0;
  } catch {
    return false;
  }
}

/** The first bytes of a rollback journal that holds a transaction not yet committed or rolled back. */
const JOURNAL_MAGIC = Buffer.from([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]);

/** True when a -journal file beside the database holds a transaction that was never finished. */
function hotJournal(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(`${file}-journal`, "r");
    const head = Buffer.alloc(JOURNAL_MAGIC.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(JOURNAL_MAGIC);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function sqliteCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}

/** Another program holds the file locked: it may be writing pages of a transaction it has not committed. */
function lockedByAnother(err: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test(sqliteCode(err));
}

/**
 * Reading a WAL-mode database needs its -shm index, which SQLite must create (or grow) even for a
 * read-only open; on a read-only medium or a full disk it cannot, and the open fails (CANTOPEN,
 * IOERR_SHMSIZE). The bundled SQLite takes no URI filenames, so `immutable=1` is not available; the
 * database is read into memory instead and opened from there, marked as a rollback-journal file since
 * an in-memory database cannot be in WAL mode. That is only right when the -wal file holds nothing:
 * otherwise the snapshot would silently miss the latest sessions, so that case stays an error. It
 * costs memory the size of the file, which is acceptable for a fallback that only reads history.
 */
function connectSnapshot(file: string, migrations: readonly Migration[], cause: unknown): Database.Database {
  if (walHasContent(file)) {
    throw new StoreError(
      `cannot read ${file}: its latest changes are in ${file}-wal, which cannot be read here (${(cause as Error).message}); free some space on its disk or copy the data folder to a writable disk`,
    );
  }
  // A crash mid-transaction in rollback-journal mode leaves some of its pages in the file and the old
  // ones in the -journal: the bytes alone would show a change that never happened (a discomfort gone).
  if (hotJournal(file) || sqliteCode(cause) === "SQLITE_READONLY_ROLLBACK") {
    throw new StoreError(
      `cannot read ${file}: an interrupted change is still in ${file}-journal, which cannot be rolled back here (${(cause as Error).message}); free some space on its disk or copy the data folder to a writable disk`,
    );
  }
  const image = readFileSync(file);
  // File format read/write versions (header bytes 18 and 19): 2 means WAL, 1 rollback journal.
  if (image.length >= 100 && image[18] === 2 && image[19] === 2) {
    image[18] = 1;
    image[19] = 1;
  }
  const db = new Database(image, { readonly: true });
  try {
    const pending = migrations.filter((m) => m.version > schemaVersion(db));
    if (pending.length) throw new StoreError(`${file} needs a schema upgrade and was opened read-only`);
    migrate(db, migrations, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Read-only open, falling back to an in-memory snapshot when SQLite cannot set up its WAL index. */
function connectReadonly(file: string, migrations: readonly Migration[], openDb: OpenDb): Database.Database {
  try {
    return connect(file, true, migrations, openDb);
  } catch (err) {
    if (err instanceof StoreError || !cannotWrite(err) || !existsSync(file)) throw err;
    // The snapshot reads the file's bytes past SQLite's locking: right for a file nobody is changing,
    // wrong for one another program is in the middle of changing.
    if (lockedByAnother(err)) throw err;
    return connectSnapshot(file, migrations, err);
  }
}

/**
 * Leaves the file in rollback-journal mode when this is the last connection, so that once invert has
 * closed it the database is one self-contained file: a later reader on a read-only medium or a full
 * disk opens it normally, with locking and without the -shm index it could not create (see
 * connectSnapshot). The next writable open switches back to WAL. Another connection still open (a
 * session being recorded, the bridge) makes the switch fail at once (no busy wait); the last one to
 * close does it. A failure (disk full, read-only) leaves WAL mode, which SQLite keeps consistent.
 */
function leaveWalMode(db: Database.Database): void {
  try {
    db.pragma("busy_timeout = 0");
    db.pragma("journal_mode = DELETE");
  } catch {
    // Still in WAL mode: readable wherever its -shm index exists or can be created.
  }
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
    db = opts.readonly === true ? connectReadonly(file, migrations, openDb) : connect(file, false, migrations, openDb);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    // A read-only medium or a full disk: history stays readable (and the ramp-up computable); writes
    // then fail once, reported by whoever tries (the recorder), and never stop a session.
    if (!opts.readonly && cannotWrite(err) && existsSync(file)) {
      try {
        db = connectReadonly(file, migrations, openDb);
        readonlyReason = `${file} is not writable (${(err as Error).message}); opened read-only`;
      } catch (err2) {
        if (err2 instanceof StoreError) throw err2;
        throw cannotOpen(err, file);
      }
    } else {
      throw cannotOpen(err, file);
    }
  }
  const writable = !opts.readonly && !readonlyReason;
  const now = opts.now ?? (() => new Date());
  const profiles = new ProfileRepo(db, now);
  const sessions = new SessionRepo(db, now);
  let recovered = 0;
  if (writable) {
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
      if (!db.open) return;
      if (writable) leaveWalMode(db);
      db.close();
    },
  };
}
