// Row shapes the store hands out (camelCase, JSON columns parsed).

export interface ProfileRecord {
  id: number;
  name: string;
  weightKg: number;
  heightCm: number;
  maxAngle: number;
  /** Set only by a deliberate `profile set --max-angle --i-understand`: explicit programs are then capped by maxAngle, not by the ramp-up. */
  rampupBypass: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface NewProfile {
  name: string;
  weightKg: number;
  heightCm: number;
  maxAngle: number;
  rampupBypass?: boolean;
}

export interface ScreeningRecord {
  id: number;
  profileId: number;
  answeredAt: string;
  /** Ids of the contraindications that apply (empty = none). */
  conditions: string[];
  method: "interactive" | "flags";
  /** Set when the stored answers cannot be read as a list of ids: they must be asked again, not taken as none. */
  damaged?: boolean;
}

export type SessionKind = "rampup" | "program";
export type SessionOutcome = "completed" | "aborted" | "fault" | "refused";

export interface NewSession {
  profileId?: number;
  profileName?: string;
  kind: SessionKind;
  programName: string;
  program: unknown;
  limits?: unknown;
  planned?: unknown;
  targetAngle?: number;
  minutes?: number;
  device?: string;
  startedAt?: string;
}

export interface SessionRecord {
  id: number;
  profileId: number | null;
  profileName: string | null;
  kind: SessionKind;
  programName: string;
  program: unknown;
  limits: unknown;
  planned: unknown;
  targetAngle: number | null;
  minutes: number | null;
  device: string | null;
  /** null while the session is open. */
  outcome: SessionOutcome | null;
  reason: string | null;
  discomfort: boolean;
  startedAt: string;
  endedAt: string | null;
  summary: unknown;
}

export interface SessionListItem extends Omit<SessionRecord, "program" | "limits" | "planned" | "summary"> {
  samples: number;
  measuredMaxAngle: number | null;
  measuredMaxForce: number | null;
}

export interface SampleRow {
  /** Seconds since the session started. */
  t: number;
  devT?: number | null;
  tilt: number;
  tilt2: number;
  vel: number;
  force?: number | null;
  current: number;
  mode: string;
}

export interface EventRow {
  t: number;
  kind: string;
  code?: string | null;
  severity?: string | null;
  msg?: string | null;
  json: unknown;
}

export interface DiscomfortRow {
  t: number;
  kind: string;
  reportedAt: string;
}
