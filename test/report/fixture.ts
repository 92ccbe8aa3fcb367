// A recorded session with known samples, planned trajectory, limits and events.
import { openStore, type Store } from "../../src/store/index.js";
import { tempDir } from "../store/tmp.js";

export interface Fixture {
  store: Store;
  id: number;
  dir: string;
}

export function recordedSession(opts: { force?: boolean } = {}): Fixture {
  const dir = tempDir();
  const store = openStore(dir, { now: () => new Date("2026-03-02T07:30:00Z") });
  const profile = store.profiles.create({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 60 });
  const id = store.sessions.begin({
    profileId: profile.id,
    profileName: "ann",
    kind: "rampup",
    programName: "rampup-25",
    program: { name: "rampup-25", steps: [] },
    targetAngle: 25,
    minutes: 1,
    limits: { tiltMin: -80, tiltMax: 25, speedMax: 2, forceMax: 400, rateMax: 50 },
    planned: { points: Array.from({ length: 80 }, (_, i) => ({ t: i, tilt: Math.min(25, -80 + 2 * i), force: opts.force ? Math.min(300, 10 * i) : 0 })) },
  });
  store.sessions.addSamples(
    id,
    Array.from({ length: 600 }, (_, i) => ({
      t: i / 10,
      devT: 5000 + i * 100,
      tilt: Math.min(25, -80 + i / 5),
      tilt2: Math.min(25, -80 + i / 5) + 0.2,
      vel: i < 525 ? 2 : 0,
      force: opts.force ? Math.min(300, i) : null,
      current: 1.5,
      mode: i < 525 ? "moving" : "holding",
    })),
  );
  store.sessions.addEvent(id, { t: 52.5, kind: "state", msg: "holding at 25°", json: {} });
  store.sessions.addEvent(id, { t: 58, kind: "discomfort", msg: "dizziness reported", json: {} });
  store.sessions.addDiscomfort(id, { t: 58, kind: "dizziness", reportedAt: "2026-03-02T07:31:00Z" });
  store.sessions.end(id, "aborted", { reason: "discomfort: dizziness", endedAt: "2026-03-02T07:31:10Z" });
  return { store, id, dir };
}
