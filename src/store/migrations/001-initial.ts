// The first schema: profiles, screenings, sessions and what a session produces.
// A session row is written when the session starts (outcome NULL = still open) so a crash leaves a
// trace that the next start can close as aborted.
import type { Migration } from "./types.js";

export const initialSchema: Migration = {
  version: 1,
  name: "initial schema",
  up(db) {
    db.exec(`
      CREATE TABLE profiles (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        weight_kg REAL NOT NULL,
        height_cm REAL NOT NULL,
        max_angle REAL NOT NULL,
        rampup_bypass INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE screenings (
        id INTEGER PRIMARY KEY,
        profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
        answered_at TEXT NOT NULL,
        conditions_json TEXT NOT NULL,
        method TEXT NOT NULL
      );
      CREATE INDEX screenings_profile ON screenings(profile_id, answered_at);
      CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        profile_id INTEGER REFERENCES profiles(id) ON DELETE CASCADE,
        profile_name TEXT,
        kind TEXT NOT NULL,
        program_name TEXT NOT NULL,
        program_json TEXT NOT NULL,
        limits_json TEXT,
        planned_json TEXT,
        target_angle REAL,
        minutes REAL,
        device TEXT,
        outcome TEXT,
        reason TEXT,
        discomfort INTEGER NOT NULL DEFAULT 0,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        summary_json TEXT
      );
      CREATE INDEX sessions_profile ON sessions(profile_id, started_at);
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        t REAL NOT NULL,
        kind TEXT NOT NULL,
        code TEXT,
        severity TEXT,
        msg TEXT,
        json TEXT NOT NULL
      );
      CREATE INDEX events_session ON events(session_id, t);
      CREATE TABLE discomfort_reports (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        t REAL NOT NULL,
        kind TEXT NOT NULL,
        reported_at TEXT NOT NULL
      );
      CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        t REAL NOT NULL,
        dev_t INTEGER,
        tilt REAL NOT NULL,
        tilt2 REAL NOT NULL,
        vel REAL NOT NULL,
        force REAL,
        current REAL NOT NULL,
        mode TEXT NOT NULL
      );
      CREATE INDEX samples_session ON samples(session_id, t);
    `);
  },
};
