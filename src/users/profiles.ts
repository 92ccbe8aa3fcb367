// Profile management: validation (one error line naming the field), device rated limits, screening
// stored with the profile.
import type { NewProfile, ProfileRecord, ScreeningRecord, Store } from "../store/index.js";
import { UserError } from "./errors.js";
import { DEFAULT_MAX_ANGLE } from "./rampup.js";
import { screeningStatus, type ScreeningStatus } from "./screening.js";

/** Plausible human ranges; the device's rated limits, when known, narrow them. */
export const PROFILE_RANGES = {
  weightKg: { min: 20, max: 300 },
  heightCm: { min: 100, max: 230 },
  maxAngle: { min: 5, max: 90 },
} as const;

/** Above this the user must say they understand (the usual recommended ceiling, DOMAIN.md section 2). */
export const ANGLE_NEEDS_CONFIRMATION = DEFAULT_MAX_ANGLE;

export interface RatedLimits {
  userMaxKg?: number;
  userMaxCm?: number;
}

export interface ProfileInput {
  name: string;
  weightKg: unknown;
  heightCm: unknown;
  maxAngle?: unknown;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9 _.@-]{0,39}$/;

/** Digits with an optional sign and decimal point: what a person types for a weight or an angle. */
const DECIMAL_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/** Parses a number flag or value; the message names the field. */
export function parseNumber(field: string, v: unknown, unit: string, range: { min: number; max: number }): number {
  // Not Number() alone: it also reads "0x40" as 64, "1e2" as 100 and "0b1" as 1, none of which anyone
  // means as kilograms or centimetres.
  const n = typeof v === "number" ? v : typeof v === "string" && DECIMAL_RE.test(v.trim()) ? Number(v.trim()) : Number.NaN;
  if (!Number.isFinite(n)) throw new UserError(`${field}: "${String(v)}" is not a number (${unit})`);
  if (n < range.min || n > range.max) throw new UserError(`${field}: ${n} ${unit} is outside ${range.min}..${range.max} ${unit}`);
  return n;
}

export function validateName(name: unknown): string {
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    throw new UserError(`NAME: "${String(name)}" must be 1-40 characters, letters, digits, space, _ . @ - (starting with a letter or digit)`);
  }
  return name;
}

export function checkRated(p: { weightKg: number; heightCm: number }, rated?: RatedLimits): void {
  if (rated?.userMaxKg !== undefined && p.weightKg > rated.userMaxKg) {
    throw new UserError(`--weight: ${p.weightKg} kg is above the device's rated maximum user weight (${rated.userMaxKg} kg)`);
  }
  if (rated?.userMaxCm !== undefined && p.heightCm > rated.userMaxCm) {
    throw new UserError(`--height: ${p.heightCm} cm is above the device's rated maximum user height (${rated.userMaxCm} cm)`);
  }
}

export function checkMaxAngle(maxAngle: number, iUnderstand: boolean): void {
  if (maxAngle > ANGLE_NEEDS_CONFIRMATION && !iUnderstand) {
    throw new UserError(`--max-angle: ${maxAngle}° is above ${ANGLE_NEEDS_CONFIRMATION}°; add --i-understand to confirm deliberately`);
  }
}

export function validateProfile(input: ProfileInput, opts: { rated?: RatedLimits; iUnderstand?: boolean } = {}): NewProfile {
  const name = validateName(input.name);
  const weightKg = parseNumber("--weight", input.weightKg, "kg", PROFILE_RANGES.weightKg);
  const heightCm = parseNumber("--height", input.heightCm, "cm", PROFILE_RANGES.heightCm);
  const maxAngle = input.maxAngle === undefined ? DEFAULT_MAX_ANGLE : parseNumber("--max-angle", input.maxAngle, "deg", PROFILE_RANGES.maxAngle);
  checkMaxAngle(maxAngle, opts.iUnderstand === true);
  checkRated({ weightKg, heightCm }, opts.rated);
  return { name, weightKg, heightCm, maxAngle };
}

export interface CreateOptions {
  rated?: RatedLimits;
  iUnderstand?: boolean;
  /** Screening answered at creation (flags or prompts); undefined = screen later. */
  conditions?: string[];
  method?: ScreeningRecord["method"];
}

export function createProfile(store: Store, input: ProfileInput, opts: CreateOptions = {}): { profile: ProfileRecord; screening?: ScreeningRecord } {
  const p = validateProfile(input, opts);
  return store.db.transaction(() => {
    const profile = store.profiles.create(p);
    const screening = opts.conditions ? store.profiles.addScreening(profile.id, opts.conditions, opts.method ?? "flags") : undefined;
    return { profile, screening };
  })();
}

export interface ProfilePatch {
  weightKg?: unknown;
  heightCm?: unknown;
  maxAngle?: unknown;
}

/**
 * Changes a profile. Setting the maximum angle with iUnderstand is the deliberate act that lets explicit
 * programs go past the ramp-up (up to that maximum, whether it went up or down: the confirmation is
 * about skipping the ramp-up, not about the angle); setting it without the confirmation puts the
 * ramp-up cap back.
 */
export function updateProfile(store: Store, name: string, patch: ProfilePatch, opts: { rated?: RatedLimits; iUnderstand?: boolean } = {}): ProfileRecord {
  const cur = store.profiles.get(name);
  const weightKg = patch.weightKg === undefined ? cur.weightKg : parseNumber("--weight", patch.weightKg, "kg", PROFILE_RANGES.weightKg);
  const heightCm = patch.heightCm === undefined ? cur.heightCm : parseNumber("--height", patch.heightCm, "cm", PROFILE_RANGES.heightCm);
  let maxAngle = cur.maxAngle;
  let rampupBypass = cur.rampupBypass;
  if (patch.maxAngle !== undefined) {
    maxAngle = parseNumber("--max-angle", patch.maxAngle, "deg", PROFILE_RANGES.maxAngle);
    checkMaxAngle(maxAngle, opts.iUnderstand === true);
    rampupBypass = opts.iUnderstand === true;
  }
  checkRated({ weightKg, heightCm }, opts.rated);
  return store.profiles.update(name, { weightKg, heightCm, maxAngle, rampupBypass });
}

export interface ProfileView {
  profile: ProfileRecord;
  screening: ScreeningStatus;
  sessions: number;
}

export function showProfile(store: Store, name: string, now: Date): ProfileView {
  const profile = store.profiles.get(name);
  return {
    profile,
    screening: screeningStatus(profile.name, store.profiles.latestScreening(profile.id), now),
    sessions: store.sessions.list({ profileId: profile.id }).length,
  };
}

export function screenProfile(store: Store, name: string, conditions: string[], method: ScreeningRecord["method"]): ScreeningRecord {
  const p = store.profiles.get(name);
  return store.profiles.addScreening(p.id, conditions, method);
}
