// Profiles and their screening answers.
import type Database from "better-sqlite3";
import { StoreError } from "./errors.js";
import { fromJson } from "./json-col.js";
import type { NewProfile, ProfileRecord, ScreeningRecord } from "./types.js";

interface ProfileDbRow {
  id: number;
  name: string;
  weight_kg: number;
  height_cm: number;
  max_angle: number;
  rampup_bypass: number;
  created_at: string;
  updated_at: string;
}

interface ScreeningDbRow {
  id: number;
  profile_id: number;
  answered_at: string;
  conditions_json: string;
  method: string;
}

function toProfile(r: ProfileDbRow): ProfileRecord {
  return {
    id: r.id,
    name: r.name,
    weightKg: r.weight_kg,
    heightCm: r.height_cm,
    maxAngle: r.max_angle,
    rampupBypass: r.rampup_bypass === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toScreening(r: ScreeningDbRow): ScreeningRecord {
  const parsed = fromJson(r.conditions_json);
  const list: unknown[] = Array.isArray(parsed) ? parsed : [];
  const conditions = list.filter((x): x is string => typeof x === "string");
  // Unlike other JSON columns, unreadable answers must not read as empty: that would be "no
  // contraindications" and let head-down programs through.
  const damaged = !Array.isArray(parsed) || conditions.length !== list.length;
  return {
    id: r.id,
    profileId: r.profile_id,
    answeredAt: r.answered_at,
    conditions,
    method: r.method === "interactive" ? "interactive" : "flags",
    ...(damaged ? { damaged: true } : {}),
  };
}

export class ProfileRepo {
  constructor(
    private readonly db: Database.Database,
    private readonly now: () => Date,
  ) {}

  create(p: NewProfile): ProfileRecord {
    if (this.find(p.name)) throw new StoreError(`profile "${p.name}" already exists`);
    const at = this.now().toISOString();
    const info = this.db
      .prepare(
        `INSERT INTO profiles (name, weight_kg, height_cm, max_angle, rampup_bypass, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(p.name, p.weightKg, p.heightCm, p.maxAngle, p.rampupBypass ? 1 : 0, at, at);
    return this.byId(Number(info.lastInsertRowid))!;
  }

  find(name: string): ProfileRecord | undefined {
    const r = this.db.prepare(`SELECT * FROM profiles WHERE name = ?`).get(name) as ProfileDbRow | undefined;
    return r ? toProfile(r) : undefined;
  }

  /** Like find, but an unknown name is a one-line error listing what exists. */
  get(name: string): ProfileRecord {
    const p = this.find(name);
    if (p) return p;
    const names = this.list().map((x) => x.name);
    throw new StoreError(
      `unknown profile "${name}"` + (names.length ? ` (profiles: ${names.join(", ")})` : " (no profiles yet: create one with `invert profile create`)"),
    );
  }

  byId(id: number): ProfileRecord | undefined {
    const r = this.db.prepare(`SELECT * FROM profiles WHERE id = ?`).get(id) as ProfileDbRow | undefined;
    return r ? toProfile(r) : undefined;
  }

  list(): ProfileRecord[] {
    return (this.db.prepare(`SELECT * FROM profiles ORDER BY name`).all() as ProfileDbRow[]).map(toProfile);
  }

  update(name: string, patch: Partial<Omit<NewProfile, "name">>): ProfileRecord {
    const cur = this.get(name);
    const next = { ...cur, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
    this.db
      .prepare(
        `UPDATE profiles SET weight_kg = ?, height_cm = ?, max_angle = ?, rampup_bypass = ?, updated_at = ? WHERE id = ?`,
      )
      .run(next.weightKg, next.heightCm, next.maxAngle, next.rampupBypass ? 1 : 0, this.now().toISOString(), cur.id);
    return this.byId(cur.id)!;
  }

  /** Deletes the profile with its screenings and sessions (the user's data goes with them). */
  delete(name: string): ProfileRecord {
    const cur = this.get(name);
    this.db.prepare(`DELETE FROM profiles WHERE id = ?`).run(cur.id);
    return cur;
  }

  addScreening(profileId: number, conditions: string[], method: ScreeningRecord["method"], at?: Date): ScreeningRecord {
    const info = this.db
      .prepare(`INSERT INTO screenings (profile_id, answered_at, conditions_json, method) VALUES (?, ?, ?, ?)`)
      .run(profileId, (at ?? this.now()).toISOString(), JSON.stringify(conditions), method);
    const r = this.db.prepare(`SELECT * FROM screenings WHERE id = ?`).get(Number(info.lastInsertRowid)) as ScreeningDbRow;
    return toScreening(r);
  }

  latestScreening(profileId: number): ScreeningRecord | undefined {
    const r = this.db
      // The answers given last count, whatever the clock said then: a contraindication declared after
      // the clock was set back must not lose to the older, clean screening.
      .prepare(`SELECT * FROM screenings WHERE profile_id = ? ORDER BY id DESC LIMIT 1`)
      .get(profileId) as ScreeningDbRow | undefined;
    return r ? toScreening(r) : undefined;
  }
}
