export { openStore, DB_FILE, type Store, type OpenStoreOptions } from "./db.js";
export { defaultDataDir, ensureDataDir } from "./paths.js";
export { StoreError, isSqliteError, isWriteFailure, storeFailure } from "./errors.js";
export { migrate, schemaVersion } from "./migrate.js";
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from "./migrations/index.js";
export { COMPANION_STOPPED, HEARTBEAT_STALE_MS, processAlive, thisProcess, type SessionOwner } from "./session-repo.js";
export * from "./types.js";
export { attachRecorder, eventFields, type Recorder, type RecorderOptions, type RecordableSession } from "./session-recorder.js";
export { fsErrorText, writeFileAtomic } from "./atomic-write.js";
