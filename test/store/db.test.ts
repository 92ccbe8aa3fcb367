import Database from "better-sqlite3";
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DB_FILE, HEARTBEAT_STALE_MS, MIGRATIONS, SCHEMA_VERSION, StoreError, defaultDataDir, migrate, openStore, processAlive, schemaVersion, thisProcess, type Migration } from "../../src/store/index.js";
import { tempDir } from "./tmp.js";

describe("data directory", () => {
  it("prefers INVERT_HOME, then the platform's user data location", () => {
    expect(defaultDataDir({ env: { INVERT_HOME: "/x/inv" }, platform: "linux", home: "/h" })).toBe("/x/inv");
    expect(defaultDataDir({ env: {}, platform: "linux", home: "/h" })).toBe(join("/h", ".local", "share", "invert"));
    expect(defaultDataDir({ env: { XDG_DATA_HOME: "/xdg" }, platform: "linux", home: "/h" })).toBe(join("/xdg", "invert"));
    expect(defaultDataDir({ env: {}, platform: "darwin", home: "/h" })).toBe(join("/h", "Library", "Application Support", "invert"));
    expect(defaultDataDir({ env: { APPDATA: "C:/Users/u/AppData/Roaming" }, platform: "win32", home: "/h" })).toBe(
      join("C:/Users/u/AppData/Roaming", "invert"),
    );
  });

  it("creates a missing directory and opens the database in WAL mode", () => {
    const dir = join(tempDir(), "nested", "home");
    const store = openStore(dir);
    expect(existsSync(join(dir, DB_FILE))).toBe(true);
    expect(store.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(schemaVersion(store.db)).toBe(SCHEMA_VERSION);
    store.close();
  });
});

describe("migrations", () => {
  it("applies every migration once and reopening is a no-op", () => {
    const dir = tempDir();
    openStore(dir).close();
    const again = openStore(dir);
    expect(schemaVersion(again.db)).toBe(MIGRATIONS.length);
    const tables = again.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all();
    expect(tables).toEqual(["discomfort_reports", "events", "profiles", "samples", "screenings", "sessions"]);
    again.close();
  });

  it("upgrades an older database keeping its data", () => {
    const dir = tempDir();
    const s = openStore(dir);
    s.profiles.create({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 60 });
    s.close();
    const extra: Migration = { version: SCHEMA_VERSION + 1, name: "notes column", up: (db) => db.exec(`ALTER TABLE profiles ADD COLUMN notes TEXT`) };
    const up = openStore(dir, { migrations: [...MIGRATIONS, extra] });
    expect(schemaVersion(up.db)).toBe(SCHEMA_VERSION + 1);
    expect(up.profiles.get("ann").weightKg).toBe(70);
    up.close();
  });

  it("two inverts opening a new database at the same moment both open it, the schema applied once", () => {
    const dir = tempDir();
    let raced = false;
    // Another invert (the bridge starting beside a command) migrates the file right after this one has
    // read the schema version and before it starts migrating.
    const racing = (f: string, o: Database.Options) => {
      const db = new Database(f, o);
      const pragma = db.pragma.bind(db);
      db.pragma = ((source: string, options?: Database.PragmaOptions) => {
        const result = pragma(source, options);
        if (!raced && source === "user_version") {
          raced = true;
          openStore(dir).close();
        }
        return result;
      }) as typeof db.pragma;
      return db;
    };
    const s = openStore(dir, { openDb: racing });
    expect(raced).toBe(true);
    expect(schemaVersion(s.db)).toBe(SCHEMA_VERSION);
    expect(s.profiles.create({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 60 }).name).toBe("ann");
    s.close();
  });

  it("rolls a failing migration back entirely, version included", () => {
    const db = new Database(":memory:");
    migrate(db);
    const broken: Migration = {
      version: SCHEMA_VERSION + 1,
      name: "broken",
      up: (d) => {
        d.exec(`CREATE TABLE half (x INTEGER)`);
        throw new Error("boom");
      },
    };
    expect(() => migrate(db, [...MIGRATIONS, broken])).toThrow("boom");
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(db.prepare(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`).pluck().get()).toBe(0);
  });

  it("refuses a database newer than the code, naming both versions", () => {
    const dir = tempDir();
    openStore(dir).close();
    const raw = new Database(join(dir, DB_FILE));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 3}`);
    raw.close();
    let err: unknown;
    try {
      openStore(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toContain(`schema version ${SCHEMA_VERSION + 3}`);
    expect((err as Error).message).toContain(`understands (${SCHEMA_VERSION})`);
  });
});

describe("crash leftovers", () => {
  it("marks a session left open as aborted, companion stopped, at the next open", () => {
    const dir = tempDir();
    const t = new Date("2026-03-01T10:00:00Z");
    const s = openStore(dir, { now: () => t });
    const id = s.sessions.begin({ kind: "program", programName: "beginner", program: { steps: [] } });
    s.sessions.addSamples(id, [{ t: 0.1, tilt: 1, tilt2: 1, vel: 0, current: 0, mode: "moving" }]);
    const done = s.sessions.begin({ kind: "program", programName: "beginner", program: {} });
    s.sessions.end(done, "completed");
    s.close();
    const again = openStore(dir, { now: () => new Date("2026-03-01T11:00:00Z") });
    expect(again.recoveredSessions).toBe(1);
    const rec = again.sessions.get(id);
    expect(rec.outcome).toBe("aborted");
    expect(rec.reason).toBe("companion stopped");
    expect(rec.endedAt).toBe("2026-03-01T11:00:00.000Z");
    expect(again.sessions.get(done).outcome).toBe("completed");
    expect(again.sessions.samples(id)).toHaveLength(1);
    again.close();
  });
});

describe("sessions still being recorded by another invert", () => {
  it("are left alone while their process lives and beats; closed once it is gone or silent", () => {
    const dir = tempDir();
    let now = Date.parse("2026-03-01T10:00:00Z");
    const s = openStore(dir, { now: () => new Date(now) });
    const live = s.sessions.begin({ kind: "program", programName: "live", program: {} });
    s.sessions.claim(live);
    const gone = s.sessions.begin({ kind: "program", programName: "gone", program: {} });
    // A pid that cannot exist on Linux (above pid_max), on this host.
    s.sessions.claim(gone, { pid: 2 ** 30, host: thisProcess().host });
    s.close();

    now += 5_000;
    const other = openStore(dir, { now: () => new Date(now) });
    expect(other.recoveredSessions).toBe(1);
    expect(other.sessions.get(live).outcome).toBeNull();
    expect(other.sessions.get(gone).outcome).toBe("aborted");
    // The heartbeat keeps it live...
    now += HEARTBEAT_STALE_MS - 1_000;
    other.sessions.heartbeat(live);
    other.close();
    now += HEARTBEAT_STALE_MS - 1_000;
    expect(openStore(dir, { now: () => new Date(now) }).recoveredSessions).toBe(0);
    // ...and silence ends it, even with its pid alive (a reused pid).
    now += 2_000;
    const late = openStore(dir, { now: () => new Date(now) });
    expect(late.recoveredSessions).toBe(1);
    expect(late.sessions.get(live)).toMatchObject({ outcome: "aborted", reason: "companion stopped" });
    late.close();
  });

  it("knows this process is alive and a killed one is not", () => {
    expect(processAlive(thisProcess())).toBe(true);
    expect(processAlive({ pid: 2 ** 30, host: thisProcess().host })).toBe(false);
    // Another host's process cannot be checked: assumed alive, the heartbeat decides.
    expect(processAlive({ pid: 2 ** 30, host: `${thisProcess().host}-elsewhere` })).toBe(true);
  });
});

describe("unwritable directory", () => {
  const readOnlyMedium = (f: string, o: Database.Options) => {
    if (!o.readonly) throw Object.assign(new Error("attempt to write a readonly database"), { code: "SQLITE_READONLY" });
    return new Database(f, o);
  };

  it("falls back to read-only when the database cannot be written, keeping history readable", () => {
    const dir = tempDir();
    const w = openStore(dir);
    w.profiles.create({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 60 });
    w.sessions.begin({ kind: "program", programName: "left-open", program: {} });
    w.close();
    const ro = openStore(dir, { openDb: readOnlyMedium });
    expect(ro.readonlyReason).toMatch(/not writable \(attempt to write a readonly database\); opened read-only/);
    expect(ro.profiles.get("ann").weightKg).toBe(70);
    // Nothing could be closed as aborted on a read-only medium; the next writable open does it.
    expect(ro.recoveredSessions).toBe(0);
    expect(() => ro.sessions.begin({ kind: "program", programName: "x", program: {} })).toThrow(/readonly/);
    ro.close();
    expect(openStore(dir).recoveredSessions).toBe(1);
  });

  it("leaves a closed database as one self-contained file, back in WAL mode when reopened", () => {
    const dir = tempDir();
    const file = join(dir, DB_FILE);
    const s = openStore(dir);
    s.profiles.create({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 60 });
    s.close();
    // Header bytes 18-19: 1 = rollback journal. A reader on a read-only medium or a full disk then
    // needs no -shm index, which it could not create.
    expect([...readFileSync(file).subarray(18, 20)]).toEqual([1, 1]);
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(existsSync(`${file}-shm`)).toBe(false);
    const again = openStore(dir);
    expect(again.db.pragma("journal_mode", { simple: true })).toBe("wal");
    // While another connection has it open, closing leaves WAL mode to the last one.
    const other = openStore(dir);
    other.close();
    expect([...readFileSync(file).subarray(18, 20)]).toEqual([2, 2]);
    again.close();
    expect([...readFileSync(file).subarray(18, 20)]).toEqual([1, 1]);
  });

  it("reads a WAL-mode database whose -shm index cannot be created, from a snapshot in memory", () => {
    const dir = tempDir();
    const file = join(dir, DB_FILE);
    const w = openStore(dir);
    w.profiles.create({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 60 });
    w.close();
    // As an earlier invert left it: closed in WAL mode.
    const raw = new Database(file);
    raw.pragma("journal_mode = WAL");
    raw.close();
    const before = readFileSync(file);
    // What SQLite reports on a read-only medium (CANTOPEN) or a full disk (IOERR_SHMSIZE), even read-only.
    const noShm = () => {
      throw Object.assign(new Error("unable to open database file"), { code: "SQLITE_CANTOPEN" });
    };
    const ro = openStore(dir, { openDb: noShm });
    expect(ro.readonlyReason).toMatch(/invert\.db is not writable \(unable to open database file\); opened read-only$/);
    expect(ro.profiles.get("ann").weightKg).toBe(70);
    expect(() => ro.profiles.create({ name: "bob", weightKg: 80, heightCm: 180, maxAngle: 60 })).toThrow(/readonly/);
    ro.close();
    const explicit = openStore(dir, { readonly: true, openDb: noShm });
    expect(explicit.profiles.list()).toHaveLength(1);
    explicit.close();
    // Read only: the file is untouched.
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it("refuses a snapshot that would miss changes still in the -wal file, naming it", () => {
    const dir = tempDir();
    const file = join(dir, DB_FILE);
    const w = openStore(dir);
    // Another process still writing: its changes are in the -wal file, not yet in the database file.
    w.db.pragma("wal_autocheckpoint = 0");
    w.profiles.create({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 60 });
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(0);
    const noShm = () => {
      throw Object.assign(new Error("unable to open database file"), { code: "SQLITE_CANTOPEN" });
    };
    expect(() => openStore(dir, { openDb: noShm })).toThrow(StoreError);
    expect(() => openStore(dir, { openDb: noShm })).toThrow(/^cannot read .*invert\.db: its latest changes are in .*invert\.db-wal, which cannot be read here/);
    w.close();
  });

  /** A profile whose last session ended in discomfort, closed as invert closes it (rollback-journal mode). */
  function seedDiscomfort(dir: string): void {
    const s = openStore(dir);
    const ann = s.profiles.create({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 60 });
    const id = s.sessions.begin({ profileId: ann.id, kind: "rampup", programName: "rampup-30", program: {}, targetAngle: 30 });
    s.sessions.end(id, "aborted", { discomfort: true });
    s.close();
  }

  /** Another program's transaction, big enough that SQLite writes some of its pages into the file before it commits. */
  function uncommittedChange(file: string): Database.Database {
    const other = new Database(file);
    other.pragma("cache_size = 1");
    other.exec("BEGIN EXCLUSIVE");
    other.exec("UPDATE sessions SET discomfort = 0");
    other.exec("CREATE TABLE scratch (x TEXT)");
    const ins = other.prepare("INSERT INTO scratch VALUES (?)");
    for (let i = 0; i < 500; i++) ins.run("x".repeat(500));
    return other;
  }

  it("never reads the bytes of a file another program holds locked: one line saying it is in use", () => {
    const dir = tempDir();
    const file = join(dir, DB_FILE);
    seedDiscomfort(dir);
    const other = uncommittedChange(file);
    // What SQLite reports, for a writable and a read-only open alike, once its busy timeout has run out.
    const locked = () => {
      throw Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
    };
    expect(() => openStore(dir, { openDb: locked })).toThrow(StoreError);
    expect(() => openStore(dir, { openDb: locked })).toThrow(/^cannot open .*invert\.db: database is locked; another invert is using it: try again when it has finished$/);
    other.exec("ROLLBACK");
    other.close();
    const s = openStore(dir);
    expect(s.sessions.list().map((x) => x.discomfort)).toEqual([true]);
    s.close();
  });

  it("refuses a snapshot that would show a change a crash left half-done, naming the -journal file", () => {
    const dir = tempDir();
    const file = join(dir, DB_FILE);
    seedDiscomfort(dir);
    // The files as a crash in the middle of that transaction leaves them; SQLite rolls it back at the
    // next open, which it cannot do on a read-only medium or a full disk.
    const crashed = tempDir();
    const other = uncommittedChange(file);
    expect(existsSync(`${file}-journal`)).toBe(true);
    copyFileSync(file, join(crashed, DB_FILE));
    copyFileSync(`${file}-journal`, join(crashed, `${DB_FILE}-journal`));
    other.exec("ROLLBACK");
    other.close();
    const before = readFileSync(join(crashed, DB_FILE));
    for (const readonly of [false, true]) {
      expect(() => openStore(crashed, { openDb: readOnlyMedium, readonly })).toThrow(
        /^cannot read .*invert\.db: an interrupted change is still in .*invert\.db-journal, which cannot be rolled back here \(.+\); free some space on its disk or copy the data folder to a writable disk$/,
      );
    }
    expect(readFileSync(join(crashed, DB_FILE)).equals(before)).toBe(true);
    // Writable again, SQLite rolls the change back and nothing is lost.
    const s = openStore(crashed);
    expect(s.sessions.list().map((x) => x.discomfort)).toEqual([true]);
    expect(s.db.pragma("integrity_check", { simple: true })).toBe("ok");
    s.close();
  });

  it("still refuses a missing database it cannot create", () => {
    expect(() => openStore(tempDir(), { openDb: readOnlyMedium })).toThrow(/^cannot open .*attempt to write a readonly database/);
  });

  it("reports a clear error for a data directory it cannot create", () => {
    // A regular file where a directory should be: refused for every user, root included (a
    // permission bit would not stop root).
    const dir = tempDir();
    const file = join(dir, "not-a-dir");
    writeFileSync(file, "x");
    expect(() => openStore(join(file, "sub"))).toThrow(/^cannot create data directory: .*ENOTDIR/);
    expect(() => openStore(join(file, "sub"))).toThrow(StoreError);
    // Nothing was created or changed beside it.
    expect(readFileSync(file, "utf8")).toBe("x");
  });
});

describe("screenings", () => {
  it("the answers given last count, even when the clock was set back before they were given", () => {
    const s = openStore(tempDir());
    const ann = s.profiles.create({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 60 });
    s.profiles.addScreening(ann.id, [], "flags", new Date("2026-06-01T07:00:00Z"));
    s.profiles.addScreening(ann.id, ["glaucoma"], "flags", new Date("2026-06-01T06:00:00Z"));
    expect(s.profiles.latestScreening(ann.id)?.conditions).toEqual(["glaucoma"]);
    s.close();
  });

  it("answers that cannot be read are marked damaged, not read as no conditions", () => {
    const s = openStore(tempDir());
    const ann = s.profiles.create({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 60 });
    const id = s.profiles.addScreening(ann.id, ["glaucoma"], "flags").id;
    expect(s.profiles.latestScreening(ann.id)?.damaged).toBeFalsy();
    // A torn write, a bad sector, or a shape written by another version.
    for (const stored of [`["glauc`, `{"glaucoma":true}`, `[{"id":"glaucoma"}]`, `["glaucoma",null]`, `null`]) {
      s.db.prepare(`UPDATE screenings SET conditions_json = ? WHERE id = ?`).run(stored, id);
      expect(s.profiles.latestScreening(ann.id), stored).toMatchObject({ damaged: true });
    }
    s.close();
  });
});
