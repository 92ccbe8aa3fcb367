import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../protocol/index.js";
import { getBuiltin } from "../../src/programs/library.js";
import { buildChartSpec, loadReportData } from "../../src/report/index.js";
import { openStore, type Store } from "../../src/store/index.js";
import { createProfile } from "../../src/users/profiles.js";
import { openProfileSession, prepareProfileSession, recordProfileSession } from "../../src/users/session-setup.js";
import { FakeSession } from "../store/fake-session.js";
import { tempDir } from "../store/tmp.js";

const NOW = new Date("2026-04-01T08:00:00Z");
const H = 3_600_000;

/** `null`: not screened yet. */
function setup(conditions: string[] | null = []): Store {
  const store = openStore(tempDir(), { now: () => NOW });
  createProfile(store, { name: "ann", weightKg: 70, heightCm: 170 }, { conditions: conditions ?? undefined });
  return store;
}

function builtin(name: string) {
  const p = getBuiltin(name);
  if (!p) throw new Error(`no builtin ${name}`);
  return p;
}

/** Records a finished session for the prepared step at `at`. */
async function runOnce(store: Store, at: Date, outcome = "completed", discomfort = false) {
  const prep = prepareProfileSession(store, "ann", undefined, at);
  const fake = new FakeSession();
  const rec = recordProfileSession(store, fake, prep, { clock: new VirtualClock() });
  fake.finish({ outcome, discomfort });
  await rec.finished;
  return prep;
}

describe("preparing a profile session", () => {
  it("with no program runs the next ramp-up step, climbing 20, 25, 30 over three comfortable sessions", async () => {
    const store = setup();
    const angles: number[] = [];
    for (let i = 0; i < 3; i++) {
      const prep = await runOnce(store, new Date(NOW.getTime() + i * H));
      angles.push(prep.step.angle);
      expect(prep.kind).toBe("rampup");
      expect(prep.profileLimits.tiltMax).toBe(prep.step.angle);
      expect(prep.program.steps.map((s) => s.type)).toEqual(["ramp", "hold", "return"]);
      expect(prep.program.steps[1]).toMatchObject({ seconds: prep.step.minutes * 60 });
    }
    expect(angles).toEqual([20, 25, 30]);
    const rows = store.sessions.list();
    expect(rows.map((r) => r.targetAngle)).toEqual([20, 25, 30]);
    const planned = store.sessions.get(rows[2].id).planned as { returnFromS: number; points: { t: number; tilt: number }[] };
    expect(Math.max(...planned.points.map((p) => p.tilt))).toBeCloseTo(30, 6);
    // The plan goes on with the estimated slow return: rest at horizontal, pause, back to upright.
    const after = planned.points.filter((p) => p.t > planned.returnFromS);
    expect(after.map((p) => p.tilt)).toEqual([0, 0, -15, -15, -70, -80]);
    expect(after.every((p, i) => i === 0 || p.t >= after[i - 1].t)).toBe(true);
    // A fourth within 24 h is refused with the time of the next one.
    expect(() => prepareProfileSession(store, "ann", undefined, new Date(NOW.getTime() + 3 * H))).toThrow(
      /3 sessions in the last 24 h \(at most 3\); next session allowed at 2026-04-02T08:00:00.000Z/,
    );
    store.close();
  });

  it("after the clock was set back, a discomfort in the latest session still steps the next one back", async () => {
    const store = setup();
    expect((await runOnce(store, NOW)).step.angle).toBe(20);
    expect((await runOnce(store, new Date(NOW.getTime() + H))).step.angle).toBe(25);
    // The companion restarts with its clock two days behind and the third session hurts.
    expect((await runOnce(store, new Date(NOW.getTime() - 48 * H), "aborted", true)).step.angle).toBe(30);
    // The clock is right again the next day.
    const next = prepareProfileSession(store, "ann", undefined, new Date(NOW.getTime() + 26 * H));
    expect(next.step.angle).toBe(20);
    expect(next.explanation).toContain("discomfort");
    store.close();
  });

  it("requires screening first, and again after 90 days", () => {
    const store = setup(null);
    expect(() => prepareProfileSession(store, "ann", undefined, NOW)).toThrow(/no contraindication screening yet; answer it with `invert profile screen ann`/);
    store.profiles.addScreening(store.profiles.get("ann").id, [], "flags", NOW);
    expect(prepareProfileSession(store, "ann", undefined, NOW).step.angle).toBe(20);
    expect(() => prepareProfileSession(store, "ann", undefined, new Date(NOW.getTime() + 91 * 24 * H))).toThrow(/older than 90 days/);
    store.close();
  });

  it("refuses a profile whose stored screening cannot be read until it is answered again", () => {
    const store = setup(["glaucoma"]);
    store.db.prepare(`UPDATE screenings SET conditions_json = '["glau'`).run();
    expect(() => prepareProfileSession(store, "ann", undefined, NOW)).toThrow(/screening answers cannot be read .*answer it again with `invert profile screen ann`/);
    expect(() => prepareProfileSession(store, "ann", builtin("intermittent-traction"), NOW)).toThrow(/cannot be read/);
    store.profiles.addScreening(store.profiles.get("ann").id, [], "flags", NOW);
    expect(prepareProfileSession(store, "ann", undefined, NOW).step.angle).toBe(20);
    store.close();
  });

  it("refuses head-down programs, ramp-up included, to a profile with a contraindication", () => {
    const store = setup(["glaucoma"]);
    expect(() => prepareProfileSession(store, "ann", undefined, NOW)).toThrow(/declared glaucoma: head-down programs are refused/);
    expect(() => prepareProfileSession(store, "ann", builtin("beginner"), NOW)).toThrow(/head-down/);
    // Traction only stays possible for a condition that does not rule it out...
    expect(prepareProfileSession(store, "ann", builtin("intermittent-traction"), NOW).kind).toBe("program");
    store.close();
    // ...and not for one that does.
    const preg = setup(["pregnancy"]);
    expect(() => prepareProfileSession(preg, "ann", builtin("intermittent-traction"), NOW)).toThrow(/declared pregnancy: traction programs are refused/);
    preg.close();
  });

  it("caps explicit programs at the ramp-up's allowed angle unless the maximum was raised deliberately", () => {
    const store = setup();
    expect(() => prepareProfileSession(store, "ann", builtin("oscillation"), NOW)).toThrow(/program reaches 60° but the ramp-up allows 20°/);
    const ok = prepareProfileSession(store, "ann", builtin("beginner"), NOW);
    expect(ok.profileLimits.tiltMax).toBe(20);
    store.profiles.update("ann", { maxAngle: 60, rampupBypass: true });
    const raised = prepareProfileSession(store, "ann", builtin("oscillation"), NOW);
    expect(raised.profileLimits.tiltMax).toBe(60);
    store.close();
  });

  it("on a read-only store still computes the step, and the session goes on unrecorded with one error line", async () => {
    const dir = tempDir();
    const seed = openStore(dir, { now: () => NOW });
    createProfile(seed, { name: "ann", weightKg: 70, heightCm: 170 }, { conditions: [] });
    seed.close();
    const ro = openStore(dir, {
      now: () => NOW,
      openDb: (f, o) => {
        if (!o.readonly) throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR" });
        return new Database(f, o);
      },
    });
    const ps = openProfileSession("ann", undefined, { now: NOW, store: ro });
    const errors: string[] = [];
    const fake = new FakeSession();
    const clock = new VirtualClock();
    const rec = ps.record(fake, { clock, onError: (l) => errors.push(l) });
    for (let i = 0; i < 30; i++) {
      clock.advance(100);
      fake.sample(clock.now(), -80 + i);
    }
    fake.finish({ outcome: "completed" });
    await ps.close();
    expect(rec.failed).toBe(true);
    expect(errors).toHaveLength(1);
    // Says why the store is read-only rather than SQLite's "attempt to write a readonly database".
    expect(errors[0]).toMatch(/^session history not recorded: .*invert\.db is not writable \(disk I\/O error\); opened read-only; the session itself is unaffected$/);
    ro.close();
  });

  it("never stores a device password in the history", () => {
    const store = setup();
    const prep = prepareProfileSession(store, "ann", undefined, NOW, { device: "mqtt://me:secret@broker.local:1883/table-1" });
    expect(prep.meta.device).toBe("mqtt://me:***@broker.local:1883/table-1");
    store.close();
  });

  it("names an unknown profile and checks the profile against the device's rated limits", () => {
    const store = setup();
    expect(() => prepareProfileSession(store, "zed", undefined, NOW)).toThrow(/^unknown profile "zed" \(profiles: ann\)$/);
    expect(() => prepareProfileSession(store, "ann", undefined, NOW, { rated: { userMaxKg: 60 } })).toThrow(/rated maximum user weight \(60 kg\)/);
    store.close();
  });
});

describe("openProfileSession (what the run command calls)", () => {
  it("prepares, checks the device rating, records and closes", async () => {
    const dir = tempDir();
    const seed = openStore(dir, { now: () => NOW });
    createProfile(seed, { name: "ann", weightKg: 70, heightCm: 170 }, { conditions: [] });
    seed.close();
    process.env.INVERT_HOME = dir;
    try {
      const ps = openProfileSession("ann", undefined, { now: NOW, device: "sim" });
      expect(ps.program.name).toBe("rampup-20");
      expect(ps.profileLimits).toEqual({ tiltMax: 20 });
      expect(() => ps.checkDevice({ userMaxKg: 65 })).toThrow(/rated maximum user weight \(65 kg\)/);
      ps.checkDevice({ userMaxKg: 136 });
      const fake = new FakeSession();
      const clock = new VirtualClock();
      ps.record(fake, { clock });
      clock.advance(100);
      fake.sample(100, -79);
      fake.finish({ outcome: "completed" });
      await ps.close();
      const after = openStore(dir);
      expect(after.sessions.list().map((s) => [s.programName, s.device, s.outcome, s.samples])).toEqual([["rampup-20", "sim", "completed", 1]]);
      after.close();
      expect(() => openProfileSession("nobody", undefined, { now: NOW })).toThrow(/unknown profile "nobody"/);
    } finally {
      delete process.env.INVERT_HOME;
    }
  });
});

describe("the stored plan on a device without a tilt axis (a back stretcher)", () => {
  const STRETCHER = { traction: { max: 700, rateMax: 50, returnRate: 20 } };
  type Planned = { points: { t: number; tilt: number; force: number }[] };
  type Spec = { vconcat: { layer: { data: { values: { value?: number; series?: string }[] } }[] }[] };

  function plannedOf(store: Store, id: number) {
    const planned = store.sessions.get(id).planned as Planned;
    return { tilts: new Set(planned.points.map((p) => p.tilt)), maxForce: Math.max(...planned.points.map((p) => p.force)) };
  }

  it("carries no tilt motion, so the report draws no table angle for it", async () => {
    const store = setup();
    const prep = prepareProfileSession(store, "ann", builtin("intermittent-traction"), NOW);
    const fake = new FakeSession();
    const rec = recordProfileSession(store, fake, prep, { clock: new VirtualClock(), axes: STRETCHER });
    fake.finish({ outcome: "completed" });
    await rec.finished;
    const id = store.sessions.list()[0].id;
    const { tilts, maxForce } = plannedOf(store, id);
    expect([...tilts]).toEqual([0]);
    expect(maxForce).toBeGreaterThan(0);
    // The angle panel's planned line is where a stretcher's telemetry puts it, not at a table's upright.
    const spec = buildChartSpec(loadReportData(store, id)) as unknown as Spec;
    const angle = spec.vconcat[0].layer.flatMap((l) => l.data.values).filter((v) => v.series === "planned");
    expect(angle.length).toBeGreaterThan(0);
    expect(angle.every((v) => v.value === 0)).toBe(true);
    store.close();
  });

  it("replaces the plan assumed at the start of a run once the device's caps show no tilt axis", async () => {
    const store = setup();
    const ps = openProfileSession("ann", builtin("intermittent-traction"), { now: NOW, store });
    const fake = new FakeSession();
    // As the run command does: recording starts before the device has sent its caps.
    ps.record(fake, { clock: new VirtualClock() });
    const id = store.sessions.list()[0].id;
    expect(plannedOf(store, id).tilts.has(-80)).toBe(true);
    ps.checkDevice({ userMaxKg: 136, axes: STRETCHER });
    fake.finish({ outcome: "completed" });
    await ps.close();
    const { tilts, maxForce } = plannedOf(store, id);
    expect([...tilts]).toEqual([0]);
    expect(maxForce).toBeGreaterThan(0);
    store.close();
  });
});
