import { closeSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../protocol/index.js";
import { EXIT, exitCodeFor } from "../../src/cli/exit-codes.js";
import { DB_FILE, StoreError, openStore } from "../../src/store/index.js";
import { withStore, type CliIO } from "../../src/users/cli-io.js";
import { CONTRAINDICATIONS } from "../../src/users/screening.js";
import { openProfileSession, prepareProfileSession, recordProfileSession } from "../../src/users/session-setup.js";
import { FakeSession } from "../store/fake-session.js";
import { tempDir } from "../store/tmp.js";
import { cli } from "./cli-harness.js";

describe("invert profile", () => {
  it("creates, shows, lists and deletes profiles, as text and JSON", async () => {
    const run = cli(tempDir());
    const c = await run("profile", "create", "ann", "--weight", "68", "--height", "170", "--no-contraindications");
    expect(c.error).toBeUndefined();
    expect(c.out).toContain("created profile ann: 68 kg, 170 cm, max 60°");
    expect(c.out).toContain("screening: none declared");
    await run("profile", "create", "bob", "--weight", "90", "--height", "185", "--contraindication", "glaucoma", "--contraindication", "hernia");
    const show = JSON.parse((await run("profile", "show", "bob", "--json")).out) as { weightKg: number; screening: { ok: boolean; conditions: string[] }; nextStep: { angle: number } };
    expect(show.weightKg).toBe(90);
    expect(show.screening.conditions).toEqual(["glaucoma", "hernia"]);
    expect(show.nextStep.angle).toBe(20);
    expect((await run("profile", "show", "ann")).out).toMatch(/next: ramp-up session 1 .*20° for 1 min/);
    const list = JSON.parse((await run("profile", "list", "--json")).out) as { name: string }[];
    expect(list.map((p) => p.name)).toEqual(["ann", "bob"]);
    expect((await run("profile", "list")).out).toMatch(/^NAME\s+WEIGHT.*\nann\s+68 kg\s+170 cm\s+60°\s+none\s+0\nbob\s+90 kg\s+185 cm\s+60°\s+glaucoma,hernia\s+0\n$/);
    expect((await run("profile", "delete", "bob")).out).toBe("deleted profile bob\n");
    expect(JSON.parse((await run("profile", "list", "--json")).out)).toHaveLength(1);
  });

  it("refuses bad input with one clear line", async () => {
    const run = cli(tempDir());
    expect((await run("profile", "create", "ann", "--weight", "abc", "--height", "170")).error).toBe('--weight: "abc" is not a number (kg)');
    expect((await run("profile", "create", "ann", "--weight", "70", "--height", "2000")).error).toBe("--height: 2000 cm is outside 100..230 cm");
    expect((await run("profile", "create", "ann", "--weight", "70", "--height", "170", "--max-angle", "80")).error).toMatch(/^--max-angle: 80° is above 60°; add --i-understand/);
    expect((await run("profile", "create", "ann", "--weight", "70", "--height", "170", "--contraindication", "flu")).error).toMatch(/^--contraindication: unknown "flu" \(valid: glaucoma,/);
    expect((await run("profile", "show", "nobody")).error).toMatch(/^unknown profile "nobody"/);
    expect((await run("profile", "create", "ann", "--height", "170")).error).toMatch(/--weight <KG>' not specified/);
    expect((await run("profile", "set", "ann")).error).toBeDefined();
  });

  it("checks weight and height against a device's rated limits with --device", async () => {
    const run = cli(tempDir());
    // The simulator is rated for 136 kg and 198 cm by default.
    expect((await run("profile", "create", "big", "--weight", "140", "--height", "180", "--device", "sim", "--no-contraindications")).error).toBe(
      "--weight: 140 kg is above the device's rated maximum user weight (136 kg)",
    );
    expect((await run("profile", "create", "ok", "--weight", "120", "--height", "180", "--device", "sim", "--no-contraindications")).error).toBeUndefined();
    expect((await run("profile", "set", "ok", "--height", "205", "--device", "sim")).error).toMatch(/rated maximum user height \(198 cm\)/);
    expect((await run("profile", "create", "x", "--weight", "70", "--height", "170", "--device", "bogus://")).error).toBeDefined();
  });

  it("without screening answers off a terminal, creates the profile and says screening is needed", async () => {
    const run = cli(tempDir());
    const c = await run("profile", "create", "ann", "--weight", "68", "--height", "170");
    expect(c.out).toContain("screening needed before the first session: invert profile screen ann");
    expect((await run("profile", "screen", "ann")).error).toMatch(/no screening answers/);
    expect((await run("profile", "screen", "ann", "--contraindication", "pregnancy")).out).toContain("pregnancy (no head-down, no traction)");
  });

  it("asks the screening questions on a terminal", async () => {
    const dir = tempDir();
    await cli(dir)("profile", "create", "ann", "--weight", "68", "--height", "170");
    const answers = CONTRAINDICATIONS.map((c) => (c.id === "hypertension" ? "y" : "n")).join("\n") + "\n";
    const r = await cli(dir, { tty: answers })("profile", "screen", "ann", "--json");
    expect(r.err).toContain("blood pressure");
    expect(JSON.parse(r.out)).toMatchObject({ conditions: ["hypertension"], method: "interactive" });
  });

  it("raises the maximum deliberately with profile set --i-understand", async () => {
    const run = cli(tempDir());
    await run("profile", "create", "ann", "--weight", "68", "--height", "170", "--no-contraindications");
    expect((await run("profile", "set", "ann", "--max-angle", "70")).error).toMatch(/--i-understand/);
    const r = await run("profile", "set", "ann", "--max-angle", "70", "--i-understand", "--json");
    expect(JSON.parse(r.out)).toMatchObject({ maxAngle: 70, rampupBypass: true, nextStep: { angle: 20, allowedMaxAngle: 70 } });
  });

  it("refuses to delete a profile with history unless confirmed", async () => {
    const dir = tempDir();
    const run = cli(dir);
    await run("profile", "create", "ann", "--weight", "68", "--height", "170", "--no-contraindications");
    const store = openStore(dir);
    store.sessions.begin({ profileId: store.profiles.get("ann").id, profileName: "ann", kind: "rampup", programName: "x", program: {} });
    store.close();
    expect((await run("profile", "delete", "ann")).error).toMatch(/has 1 recorded session\(s\); add --yes/);
    expect((await run("profile", "delete", "ann", "--yes")).out).toContain("and 1 session(s)");
  });
});

describe("invert history and report", () => {
  it("lists recorded sessions and reports the last one", async () => {
    const dir = tempDir();
    const run = cli(dir);
    await run("profile", "create", "ann", "--weight", "68", "--height", "170", "--no-contraindications");
    const store = openStore(dir, { now: () => new Date("2026-05-01T09:00:00Z") });
    for (let i = 0; i < 2; i++) {
      const prep = prepareProfileSession(store, "ann", undefined, new Date(Date.parse("2026-05-01T09:00:00Z") + i * 3_600_000));
      const fake = new FakeSession();
      const clock = new VirtualClock();
      const rec = recordProfileSession(store, fake, prep, { clock });
      for (let k = 0; k < 50; k++) {
        clock.advance(100);
        fake.sample(clock.now(), Math.min(prep.step.angle, -80 + k * 3));
      }
      fake.event({ kind: "state", msg: `holding ${prep.step.angle}` });
      fake.finish({ outcome: "completed" });
      await rec.finished;
    }
    store.close();
    const h = JSON.parse((await run("history", "--json")).out) as { id: number; targetAngle: number; outcome: string; samples: number }[];
    expect(h.map((s) => [s.targetAngle, s.outcome, s.samples])).toEqual([[20, "completed", 50], [25, "completed", 50]]);
    expect((await run("history", "--profile", "ann")).out).toMatch(/rampup-25\s+25°\s+25°\s+completed/);
    expect((await run("history", "--profile", "nobody")).error).toMatch(/^unknown profile "nobody"/);
    const out = join(dir, "last.svg");
    expect((await run("report", "last", "--out", out)).out).toContain("wrote");
    const svg = readFileSync(out, "utf8");
    expect(svg).toContain(">measured</text>");
    expect(svg).toContain(">holding 25</text>");
    expect((await run("report", String(h[0].id))).out).toContain("rampup-20");
    expect((await run("report", "x1")).error).toMatch(/^SESSION: "x1" is not a session id/);
  });
});

describe("a damaged or full database", () => {
  /** Overwrites the start of every page but the first: the header stays valid, the tables do not. */
  function damage(file: string): void {
    const fd = openSync(file, "r+");
    try {
      for (let at = 4096; at < statSync(file).size; at += 4096) writeSync(fd, Buffer.alloc(200, 0xff), 0, 200, at);
    } finally {
      closeSync(fd);
    }
  }

  it("is reported with one line naming the file and what to do, as bad input rather than an internal error", async () => {
    const dir = tempDir();
    const run = cli(dir);
    await run("profile", "create", "ann", "--weight", "68", "--height", "170", "--no-contraindications");
    const store = openStore(dir);
    store.sessions.begin({ kind: "program", programName: "p", program: {} });
    store.close();
    const file = join(dir, DB_FILE);
    damage(file);
    const malformed = /^cannot use .*invert\.db: database disk image is malformed; the file is damaged: restore it from a backup, or move it aside to start a new history$/;
    for (const args of [["history"], ["profile", "list"], ["report", "1"], ["profile", "show", "ann"]]) {
      expect((await run(...args)).error, args.join(" ")).toMatch(malformed);
    }
    // `invert run --profile` reads the profile and its history first: the same line.
    const s = openStore(dir);
    let err: unknown;
    try {
      openProfileSession("ann", undefined, { store: s });
    } catch (e) {
      err = e;
    } finally {
      s.close();
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toMatch(malformed);
    expect(exitCodeFor(err)).toBe(EXIT.usage);
  });

  it("a write on a full disk names the file and says to free space", async () => {
    const dir = tempDir();
    const io = { openStore: () => openStore(dir) } as Pick<CliIO, "openStore"> as CliIO;
    const full = Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
    let err: unknown;
    try {
      await withStore(io, () => {
        throw full;
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toBe(`cannot use ${join(dir, DB_FILE)}: database or disk is full; free some space on its disk and try again`);
    expect(exitCodeFor(err)).toBe(EXIT.usage);
    // Anything else is not the store's business and passes unchanged.
    const other = new TypeError("bug");
    await expect(
      withStore(io, () => {
        throw other;
      }),
    ).rejects.toBe(other);
  });
});
