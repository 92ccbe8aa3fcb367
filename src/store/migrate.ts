// Applies pending migrations, each in its own transaction together with its user_version bump, so
// a crash mid-migration leaves the previous version intact.
import type Database from "better-sqlite3";
import { StoreError } from "./errors.js";
import { MIGRATIONS, type Migration } from "./migrations/index.js";

export function schemaVersion(db: Database.Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}

export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS, file = "database"): number {
  const latest = migrations.length ? migrations[migrations.length - 1].version : 0;
  const current = schemaVersion(db);
  if (current > latest) {
    throw new StoreError(
      `${file} has schema version ${current}, newer than this invert understands (${latest}); upgrade invert or point INVERT_HOME elsewhere`,
    );
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    // IMMEDIATE takes the write lock before the version is read again: another invert opening the same
    // file at the same moment (the bridge beside a command) may have applied this step since the read
    // above, and running it twice fails ("table already exists", "duplicate column").
    db.transaction(() => {
      if (schemaVersion(db) >= m.version) return;
      m.up(db);
      // PRAGMA cannot take bound parameters; the version is an integer from our own table.
      db.pragma(`user_version = ${Math.trunc(m.version)}`);
    }).immediate();
  }
  return schemaVersion(db);
}
