// The history on a real read-only medium and a real full disk (a small tmpfs): readable by every
// command, writes refused with one line naming the file, a session still runs (unrecorded, one line),
// and nothing already stored is lost. Injected failures cannot show this: SQLite needs to create or
// grow its WAL index (-shm) even to read, which only a real filesystem refuses.
import Database from "better-sqlite3";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { VirtualClock } from "../../protocol/index.js";
import { DB_FILE, openStore } from "../../src/store/index.js";
import { createProfile } from "../../src/users/profiles.js";
import { openProfileSession } from "../../src/users/session-setup.js";
import { FakeSession } from "../store/fake-session.js";
import { describeWithTmpfs, mountTmpfs, type Tmpfs } from "../store/tmpfs.js";
import { cli } from "./cli-harness.js";

const NOW = new Date("2026-05-01T09:00:00Z");

/** A profile and one recorded session, the file closed as invert closes it. */
function seed(dir: string, opts: { leftInWal: boolean }): void {
  const store = openStore(dir, { now: () => new Date("2026-04-30T08:00:00Z") });
  const { profile: p } = createProfile(store, { name: "ann", weightKg: 68, heightCm: 170 }, { conditions: [] });
  const id = store.sessions.begin({ profileId: p.id, profileName: "ann", kind: "rampup", programName: "rampup-20", program: { name: "rampup-20", steps: [] }, targetAngle: 20, minutes: 1 });
  // One transaction, as the recorder writes: row by row would grow the WAL past the small disk.
  store.db.transaction(() => {
    store.sessions.addSamples(
      id,
      Array.from({ length: 300 }, (_, i) => ({ t: i / 10, devT: i * 100, tilt: -80 + i / 5, tilt2: -80 + i / 5, vel: 2, force: null, current: 1, mode: "moving" })),
    );
    store.sessions.end(id, "completed");
  })();
  store.close();
  if (opts.leftInWal) {
    // As an earlier invert left it: closed in WAL mode, so no -wal or -shm file beside it.
    const raw = new Database(join(dir, DB_FILE));
    raw.pragma("journal_mode = WAL");
    raw.close();
  }
}

async function expectReadable(dir: string): Promise<void> {
  const run = cli(dir, { now: NOW });
  const history = await run("history");
  expect(history.error).toBeUndefined();
  expect(history.out).toMatch(/^1\s+2026-04-30 08:00\s+ann\s+rampup-20/m);
  const list = await run("profile", "list");
  expect(list.error).toBeUndefined();
  expect(list.out).toMatch(/^ann\s+68 kg/m);
  const show = await run("profile", "show", "ann");
  expect(show.error).toBeUndefined();
  const report = await run("report", "1");
  expect(report.error).toBeUndefined();
  expect(report.out).toContain("session 1: rampup-20");
  expect(report.out).toContain("300 samples");

  // A change is refused with one line naming the file and the cause.
  const create = await run("profile", "create", "bob", "--weight", "80", "--height", "180", "--no-contraindications");
  expect(create.error).toMatch(new RegExp(`^${join(dir, DB_FILE).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not writable \\(.+\\); opened read-only, so nothing was changed; check that its disk is writable and has free space$`));
  expect(create.error).not.toContain("\n");

  // A session still runs: its step is computed from the history, and recording fails with one line.
  const ps = openProfileSession("ann", undefined, { now: NOW, store: openStore(dir, { now: () => NOW }) });
  expect(ps.explanation).toMatch(/^ramp-up session \d+ /);
  const errors: string[] = [];
  const fake = new FakeSession();
  const clock = new VirtualClock();
  const rec = ps.record(fake, { clock, onError: (l) => errors.push(l) });
  for (let i = 0; i < 20; i++) {
    clock.advance(100);
    fake.sample(clock.now(), -80 + i);
  }
  fake.finish({ outcome: "completed" });
  await ps.close();
  expect(rec.failed).toBe(true);
  expect(errors).toEqual([expect.stringMatching(/^session history not recorded: .*invert\.db is not writable \(.+\); opened read-only; the session itself is unaffected$/)]);
}

/** Nothing stored was lost: once writable again, the file is intact and writable. */
function expectIntact(dir: string): void {
  const store = openStore(dir, { now: () => NOW });
  expect(store.readonlyReason).toBeUndefined();
  expect(store.db.pragma("integrity_check", { simple: true })).toBe("ok");
  expect(store.sessions.samples(1)).toHaveLength(300);
  expect(store.profiles.list().map((p) => p.name)).toEqual(["ann"]);
  store.close();
}

describeWithTmpfs("history on a real read-only medium and a real full disk", () => {
  let fs: Tmpfs;
  let n = 0;
  let home: string;
  beforeAll(() => {
    fs = mountTmpfs(2048);
  });
  afterEach(() => {
    fs.writable();
    fs.unfill();
  });
  afterAll(() => {
    fs.unmount();
  });
  const fresh = () => (home = join(fs.dir, `home-${++n}`));

  for (const leftInWal of [true, false]) {
    const how = leftInWal ? "closed in WAL mode by an earlier invert" : "closed by this invert";
    it(`reads the history from a read-only medium (${how})`, async () => {
      seed(fresh(), { leftInWal });
      fs.readOnly();
      await expectReadable(home);
      fs.writable();
      expectIntact(home);
    });

    it(`reads the history from a full disk (${how})`, async () => {
      seed(fresh(), { leftInWal });
      fs.fill();
      await expectReadable(home);
      fs.unfill();
      expectIntact(home);
    });
  }
});
