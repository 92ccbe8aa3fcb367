// Who is recording an open session. Without it, any `invert` started while a session runs (history in
// another terminal) would take the running session for a crash leftover and mark it aborted.
import type { Migration } from "./types.js";

export const sessionOwner: Migration = {
  version: 2,
  name: "session owner and heartbeat",
  up(db) {
    db.exec(`
      ALTER TABLE sessions ADD COLUMN owner_pid INTEGER;
      ALTER TABLE sessions ADD COLUMN owner_host TEXT;
      ALTER TABLE sessions ADD COLUMN heartbeat_at TEXT;
    `);
  },
};
