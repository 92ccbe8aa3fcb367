// Ordered list of schema steps. Append a new file and entry for every schema change; never edit a
// migration that has shipped.
import { initialSchema } from "./001-initial.js";
import { sessionOwner } from "./002-session-owner.js";
import type { Migration } from "./types.js";

export type { Migration } from "./types.js";
export const MIGRATIONS: readonly Migration[] = [initialSchema, sessionOwner];
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
