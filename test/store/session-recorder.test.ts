import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../protocol/index.js";
import { attachRecorder, openStore, type Store } from "../../src/store/index.js";
import { FakeSession } from "./fake-session.js";
import { tempDir } from "./tmp.js";

const META = { kind: "rampup" as const, programName: "ramp-up 20°", program: { name: "ramp-up" }, targetAngle: 20, minutes: 1 };

/** Feeds 10 Hz telemetry for `seconds` of virtual time, tilting 1 deg/s. */
function feed(clock: VirtualClock, fake: FakeSession, seconds: number): void {
  for (let i = 0; i < seconds * 10; i++) {
    clock.advance(100);
    fake.sample(clock.now(), clock.now() / 1000);
  }
}

function count(store: Store, id: number): number {
  return store.sessions.samples(id).length;
}

describe("session recorder", () => {
  it("writes the session row at once and samples within a second, not only at the end", async () => {
    const clock = new VirtualClock();
    const store = openStore(tempDir());
    const fake = new FakeSession();
    const rec = attachRecorder(store, fake, META, { clock });
    const id = rec.sessionId!;
    expect(store.sessions.get(id).outcome).toBeNull();
    // Another invert opening the database meanwhile (history in a second terminal) leaves it running.
    const other = openStore(store.dir);
    expect(other.recoveredSessions).toBe(0);
    other.close();
    for (let s = 1; s <= 5; s++) {
      feed(clock, fake, 1);
      // Everything older than one flush period is on disk.
      expect(count(store, id)).toBeGreaterThanOrEqual(s * 10 - 10);
      expect(count(store, id)).toBeLessThanOrEqual(s * 10);
    }
    fake.event({ kind: "state", msg: "holding" });
    fake.event({ kind: "discomfort", discomfort: "dizziness", msg: "user reported dizziness" });
    fake.finish({ outcome: "aborted", reason: "discomfort: dizziness", discomfort: true, limits: { tiltMax: 20 }, maxAngle: 5 });
    const row = await rec.finished;
    expect(row?.outcome).toBe("aborted");
    expect(row?.reason).toBe("discomfort: dizziness");
    expect(row?.discomfort).toBe(true);
    expect(row?.limits).toEqual({ tiltMax: 20 });
    expect(count(store, id)).toBe(50);
    const samples = store.sessions.samples(id);
    expect(samples[0]).toMatchObject({ t: 0.1, tilt: 0.1, mode: "moving" });
    expect(samples.every((s, i) => i === 0 || s.t > samples[i - 1].t)).toBe(true);
    expect(store.sessions.events(id).map((e) => e.kind)).toEqual(["state", "discomfort"]);
    expect(store.sessions.discomfortReports(id)).toMatchObject([{ kind: "dizziness", t: 5 }]);
    expect(fake.listeners).toBe(0);
    expect(clock.pending).toBe(0);
    store.close();
  });

  it("marks a session whose engine failed as aborted with the error", async () => {
    const clock = new VirtualClock();
    const store = openStore(tempDir());
    const fake = new FakeSession();
    const rec = attachRecorder(store, fake, META, { clock });
    feed(clock, fake, 0.5);
    fake.crash(new Error("link closed"));
    const row = await rec.finished;
    expect(row?.outcome).toBe("aborted");
    expect(row?.reason).toContain("link closed");
    expect(row?.discomfort).toBe(false);
    expect(count(store, rec.sessionId!)).toBe(5);
    store.close();
  });

  it("reads the discomfort kind from a session note, or from the summary when no event carried it", async () => {
    const clock = new VirtualClock();
    const store = openStore(tempDir());
    const a = new FakeSession();
    const ra = attachRecorder(store, a, META, { clock });
    a.event({ atS: 4, kind: "discomfort", code: "DISCOMFORT_INPUT", message: "discomfort input: pain" });
    a.event({ atS: 4, kind: "discomfort", code: "DISCOMFORT", message: "user reported pain" });
    a.event({ atS: 9, kind: "discomfort", code: "DISCOMFORT", message: "user reported dizziness during the return" });
    a.finish({ outcome: "aborted", discomfort: true, discomfortKind: "pain" });
    await ra.finished;
    // One input gives several events but one report; a later, different report is kept.
    expect(store.sessions.discomfortReports(ra.sessionId!).map((d) => [d.t, d.kind])).toEqual([[4, "pain"], [9, "dizziness"]]);
    const b = new FakeSession();
    const rb = attachRecorder(store, b, META, { clock });
    b.finish({ outcome: "aborted", reason: "discomfort reported", discomfort: "dizziness" });
    expect((await rb.finished)?.discomfort).toBe(true);
    expect(store.sessions.discomfortReports(rb.sessionId!).map((d) => d.kind)).toEqual(["dizziness"]);
    store.close();
  });

  it("places the planned trajectory where the program started, and events at their session time", async () => {
    const clock = new VirtualClock();
    const store = openStore(tempDir());
    const fake = new FakeSession();
    const rec = attachRecorder(store, fake, { ...META, planned: { points: [{ t: 0, tilt: -80, force: 0 }] } }, { clock });
    fake.update({ phase: "connecting", elapsedS: 0.5, programS: 0 });
    fake.update({ phase: "running", elapsedS: 2.25, programS: 0.25 });
    fake.update({ phase: "running", elapsedS: 9, programS: 7.5 });
    fake.event({ atS: 3.5, kind: "info", code: "STEP", message: "step 2" });
    fake.finish({ outcome: "completed" });
    await rec.finished;
    expect(store.sessions.get(rec.sessionId!).planned).toEqual({ points: [{ t: 0, tilt: -80, force: 0 }], offsetS: 2 });
    expect(store.sessions.events(rec.sessionId!)).toMatchObject([{ t: 3.5, kind: "info", code: "STEP", msg: "step 2" }]);
    store.close();
  });

  it("on a full disk reports one line once, stops writing, and never throws into the session", async () => {
    const clock = new VirtualClock();
    const store = openStore(tempDir());
    const errors: string[] = [];
    const fake = new FakeSession();
    const rec = attachRecorder(store, fake, META, { clock, onError: (l) => errors.push(l) });
    feed(clock, fake, 2);
    const before = count(store, rec.sessionId!);
    let calls = 0;
    store.sessions.addSamples = () => {
      calls++;
      throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
    };
    store.sessions.addEvent = () => {
      calls++;
      throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
    };
    expect(() => {
      feed(clock, fake, 5);
      fake.event({ kind: "state", msg: "x" });
    }).not.toThrow();
    fake.finish({ outcome: "completed" });
    // The ending is one small update, tried once more after the failure: it fitted here.
    await expect(rec.finished).resolves.toMatchObject({ outcome: "completed" });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/SQLITE_FULL/);
    expect(errors[0]).not.toContain("\n");
    expect(calls).toBe(1);
    expect(rec.failed).toBe(true);
    expect(before).toBeGreaterThan(0);
    expect(clock.pending).toBe(0);
    store.close();
  });

  it("on a full disk still records a discomfort with the ending, or says plainly that it could not", async () => {
    for (const endFits of [true, false]) {
      const clock = new VirtualClock();
      const store = openStore(tempDir());
      const errors: string[] = [];
      const fake = new FakeSession();
      const rec = attachRecorder(store, fake, META, { clock, onError: (l) => errors.push(l) });
      feed(clock, fake, 1);
      const full = () => {
        throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
      };
      store.sessions.addSamples = full;
      store.sessions.addEvent = full;
      store.sessions.addDiscomfort = full;
      if (!endFits) store.sessions.end = full;
      feed(clock, fake, 2);
      fake.event({ kind: "discomfort", code: "DISCOMFORT", msg: "user reported pain" });
      fake.finish({ outcome: "aborted", discomfort: true, discomfortKind: "pain" });
      const r = await rec.finished;
      if (endFits) {
        expect(r).toMatchObject({ outcome: "aborted", discomfort: true });
        expect(errors).toHaveLength(1);
      } else {
        expect(r).toBeUndefined();
        expect(errors).toHaveLength(2);
        expect(errors[1]).toMatch(/discomfort was not recorded.*choose a lower angle/);
      }
      store.close();
    }
  });

  it("on a really full database (SQLite's own SQLITE_FULL) keeps what fitted and reports once", async () => {
    const clock = new VirtualClock();
    const store = openStore(tempDir());
    const errors: string[] = [];
    const fake = new FakeSession();
    const rec = attachRecorder(store, fake, META, { clock, onError: (l) => errors.push(l) });
    // The database may grow by a few pages only: the engine itself runs out of space.
    const pages = store.db.pragma("page_count", { simple: true }) as number;
    store.db.pragma(`max_page_count = ${pages + 3}`);
    expect(() => feed(clock, fake, 600)).not.toThrow();
    fake.finish({ outcome: "completed" });
    // The ending updates the row in place: it still fits.
    await expect(rec.finished).resolves.toMatchObject({ outcome: "completed" });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/SQLITE_FULL/);
    const kept = count(store, rec.sessionId!);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(6000);
    store.close();
  });

  it("on a read-only database reports once and the session goes on", async () => {
    const dir = tempDir();
    openStore(dir).close();
    const ro = openStore(dir, { readonly: true });
    const clock = new VirtualClock();
    const errors: string[] = [];
    const fake = new FakeSession();
    const rec = attachRecorder(ro, fake, META, { clock, onError: (l) => errors.push(l) });
    expect(rec.sessionId).toBeUndefined();
    feed(clock, fake, 3);
    fake.finish({ outcome: "completed" });
    await expect(rec.finished).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/readonly|read-only/i);
    ro.close();
  });

  it("a throwing error reporter does not reach the session", async () => {
    const clock = new VirtualClock();
    const store = openStore(tempDir());
    const fake = new FakeSession();
    const rec = attachRecorder(store, fake, META, {
      clock,
      onError: () => {
        throw new Error("stderr closed");
      },
    });
    store.sessions.addSamples = () => {
      throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR" });
    };
    expect(() => feed(clock, fake, 2)).not.toThrow();
    fake.finish({ outcome: "completed" });
    await rec.finished;
    expect(rec.failed).toBe(true);
    store.close();
  });
});
