import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/index.js";
import { createProfile, showProfile, updateProfile, validateProfile } from "../../src/users/profiles.js";
import { tempDir } from "../store/tmp.js";

const NOW = new Date("2026-02-01T09:00:00Z");

describe("profile validation", () => {
  it("accepts a valid profile with the default maximum angle", () => {
    expect(validateProfile({ name: "ann", weightKg: "72.5", heightCm: 168 })).toEqual({ name: "ann", weightKg: 72.5, heightCm: 168, maxAngle: 60 });
  });

  it("names the field and the reason for bad input", () => {
    expect(() => validateProfile({ name: "ann", weightKg: "heavy", heightCm: 170 })).toThrow(/^--weight: "heavy" is not a number \(kg\)$/);
    expect(() => validateProfile({ name: "ann", weightKg: 70, heightCm: "" })).toThrow(/^--height: "" is not a number/);
    expect(() => validateProfile({ name: "ann", weightKg: 7, heightCm: 170 })).toThrow(/^--weight: 7 kg is outside 20..300 kg$/);
    expect(() => validateProfile({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 95 })).toThrow(/^--max-angle: 95 deg is outside/);
    expect(() => validateProfile({ name: "", weightKg: 70, heightCm: 170 })).toThrow(/^NAME:/);
    expect(() => validateProfile({ name: "a/b", weightKg: 70, heightCm: 170 })).toThrow(/^NAME:/);
  });

  it("takes only plain decimal numbers, not hex, binary, exponents or Infinity", () => {
    for (const v of ["0x40", "0b1000000", "0o100", "6.4e1", "Infinity", "1_000", "64kg", "."]) {
      expect(() => validateProfile({ name: "ann", weightKg: v, heightCm: 170 }), v).toThrow(`--weight: "${v}" is not a number (kg)`);
    }
    expect(validateProfile({ name: "ann", weightKg: " 64 ", heightCm: "170.", maxAngle: "+20.5" })).toMatchObject({ weightKg: 64, heightCm: 170, maxAngle: 20.5 });
  });

  it("asks for confirmation above 60 degrees", () => {
    expect(() => validateProfile({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 75 })).toThrow(/--i-understand/);
    expect(validateProfile({ name: "ann", weightKg: 70, heightCm: 170, maxAngle: 75 }, { iUnderstand: true }).maxAngle).toBe(75);
  });

  it("checks weight and height against the device's rated limits when known", () => {
    const rated = { userMaxKg: 136, userMaxCm: 198 };
    expect(() => validateProfile({ name: "bob", weightKg: 140, heightCm: 180 }, { rated })).toThrow(/rated maximum user weight \(136 kg\)/);
    expect(() => validateProfile({ name: "bob", weightKg: 100, heightCm: 200 }, { rated })).toThrow(/rated maximum user height \(198 cm\)/);
    expect(validateProfile({ name: "bob", weightKg: 136, heightCm: 198 }, { rated }).weightKg).toBe(136);
  });
});

describe("profiles in the store", () => {
  it("creates with screening, shows, lists, refuses duplicates and unknown names, deletes with history", () => {
    const store = openStore(tempDir(), { now: () => NOW });
    const { profile, screening } = createProfile(store, { name: "ann", weightKg: 70, heightCm: 170 }, { conditions: [] });
    expect(screening?.conditions).toEqual([]);
    expect(() => createProfile(store, { name: "ANN", weightKg: 70, heightCm: 170 })).toThrow(/already exists/);
    createProfile(store, { name: "bob", weightKg: 90, heightCm: 185 });
    expect(store.profiles.list().map((p) => p.name)).toEqual(["ann", "bob"]);
    const view = showProfile(store, "ann", NOW);
    expect(view.screening.ok).toBe(true);
    expect(showProfile(store, "bob", NOW).screening).toMatchObject({ ok: false, reason: "missing" });
    expect(() => showProfile(store, "carl", NOW)).toThrow(/^unknown profile "carl" \(profiles: ann, bob\)$/);
    const sid = store.sessions.begin({ profileId: profile.id, profileName: "ann", kind: "rampup", programName: "x", program: {} });
    store.sessions.addSamples(sid, [{ t: 0, tilt: 0, tilt2: 0, vel: 0, current: 0, mode: "idle" }]);
    store.profiles.delete("ann");
    expect(store.sessions.find(sid)).toBeUndefined();
    expect(store.db.prepare(`SELECT COUNT(*) FROM samples`).pluck().get()).toBe(0);
    store.close();
  });

  it("raising the maximum deliberately sets the ramp-up bypass; changing it without confirmation clears it", () => {
    const store = openStore(tempDir(), { now: () => NOW });
    createProfile(store, { name: "ann", weightKg: 70, heightCm: 170 });
    expect(() => updateProfile(store, "ann", { maxAngle: 70 })).toThrow(/--i-understand/);
    const raised = updateProfile(store, "ann", { maxAngle: 70 }, { iUnderstand: true });
    expect(raised).toMatchObject({ maxAngle: 70, rampupBypass: true });
    const lowered = updateProfile(store, "ann", { maxAngle: 40 });
    expect(lowered).toMatchObject({ maxAngle: 40, rampupBypass: false });
    expect(updateProfile(store, "ann", { weightKg: "75" }).weightKg).toBe(75);
    expect(() => updateProfile(store, "ann", { heightCm: "tall" })).toThrow(/^--height:/);
    store.close();
  });
});
