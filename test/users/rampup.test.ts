import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_RAMPUP, checkProgramAngle, nextStep, type HistoryEntry, type NextStep } from "../../src/users/rampup.js";

const DAY = 86_400_000;
const H = 3_600_000;
const T0 = Date.parse("2026-01-05T08:00:00Z");
const profile = { maxAngle: 60 };

function ok(s: NextStep): Extract<NextStep, { ok: true }> {
  if (!s.ok) throw new Error(`expected a step, got refusal: ${s.reason}`);
  return s;
}

/** Runs the ramp-up as a user would: take the next step at each given time, with the given result. */
function simulate(times: number[], result: (i: number) => { outcome: HistoryEntry["outcome"]; discomfort: boolean } = () => ({ outcome: "completed", discomfort: false })) {
  const history: HistoryEntry[] = [];
  const steps: { at: number; step: NextStep }[] = [];
  times.forEach((at, i) => {
    const step = nextStep(profile, history, new Date(at));
    steps.push({ at, step });
    if (step.ok) history.push({ startedAt: new Date(at).toISOString(), kind: "rampup", targetAngle: step.angle, ...result(i) });
  });
  return { history, steps };
}

describe("ramp-up progression", () => {
  it("climbs 20, 25, 30 over the first sessions and holds at 30 during the first two weeks", () => {
    const times = Array.from({ length: 14 }, (_, d) => [T0 + d * DAY, T0 + d * DAY + 8 * H]).flat();
    const { steps } = simulate(times);
    const angles = steps.map((s) => ok(s.step).angle);
    expect(angles.slice(0, 4)).toEqual([20, 25, 30, 30]);
    expect(Math.max(...angles)).toBe(30);
    for (const s of steps) expect(ok(s.step).minutes).toBeGreaterThanOrEqual(1);
    for (const s of steps) expect(ok(s.step).minutes).toBeLessThanOrEqual(2);
    expect(ok(steps[0].step).minutes).toBe(1);
    expect(ok(steps[1].step).minutes).toBe(2);
    expect(ok(steps[0].step).reason).toContain("first session");
  });

  it("after two weeks climbs by 5 per comfortable session up to the profile maximum, sessions of 3-5 min", () => {
    const times = Array.from({ length: 30 }, (_, d) => T0 + d * DAY);
    const { steps } = simulate(times);
    const after = steps.filter((s) => s.at >= T0 + 14 * DAY).map((s) => ok(s.step));
    expect(after.slice(0, 7).map((s) => s.angle)).toEqual([35, 40, 45, 50, 55, 60, 60]);
    expect(after.slice(0, 3).map((s) => s.minutes)).toEqual([3, 4, 5]);
    expect(after.every((s) => s.phase === "later" && s.minutes >= 3 && s.minutes <= 5 && s.angle <= 60)).toBe(true);
  });

  it("steps back two steps after discomfort and climbs again from there", () => {
    const times = Array.from({ length: 8 }, (_, d) => T0 + (15 + d) * DAY);
    // Start in the later phase: a first session two weeks before (recorded at 40°, which the first-weeks cap reads as 30°).
    const history: HistoryEntry[] = [{ startedAt: new Date(T0).toISOString(), kind: "rampup", targetAngle: 40, outcome: "completed", discomfort: false }];
    const angles: number[] = [];
    times.forEach((at, i) => {
      const s = ok(nextStep(profile, history, new Date(at)));
      angles.push(s.angle);
      history.push({ startedAt: new Date(at).toISOString(), kind: "rampup", targetAngle: s.angle, outcome: i === 2 ? "aborted" : "completed", discomfort: i === 2 });
    });
    expect(angles).toEqual([35, 40, 45, 35, 40, 45, 50, 55]);
    const back = ok(nextStep(profile, history.slice(0, 4), new Date(times[3])));
    expect(back.reason).toContain("discomfort");
    expect(back.minutes).toBe(3);
  });

  it("discomfort in an explicit program also steps back, never below the minimum angle", () => {
    const h: HistoryEntry[] = [
      { startedAt: new Date(T0).toISOString(), kind: "rampup", targetAngle: 20, outcome: "completed", discomfort: false },
      { startedAt: new Date(T0 + DAY).toISOString(), kind: "program", outcome: "aborted", discomfort: true },
    ];
    expect(ok(nextStep(profile, h, new Date(T0 + 2 * DAY))).angle).toBe(15);
    h.push({ startedAt: new Date(T0 + 2 * DAY).toISOString(), kind: "rampup", targetAngle: 15, outcome: "aborted", discomfort: true });
    expect(ok(nextStep(profile, h, new Date(T0 + 3 * DAY))).angle).toBe(DEFAULT_RAMPUP.minAngle);
  });

  it("an incomplete session without discomfort repeats the same angle; explicit programs do not advance it", () => {
    const h: HistoryEntry[] = [
      { startedAt: new Date(T0).toISOString(), kind: "rampup", targetAngle: 20, outcome: "fault", discomfort: false },
      { startedAt: new Date(T0 + DAY).toISOString(), kind: "program", outcome: "completed", discomfort: false },
    ];
    const s = ok(nextStep(profile, h, new Date(T0 + 2 * DAY)));
    expect(s.angle).toBe(20);
    expect(s.minutes).toBe(1);
  });

  it("refuses a fourth session within 24 h, naming when the next one is allowed", () => {
    const times = [T0, T0 + 1 * H, T0 + 2 * H, T0 + 3 * H];
    const { steps } = simulate(times);
    const refused = steps[3].step;
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.nextAllowedAt.toISOString()).toBe(new Date(T0 + DAY).toISOString());
    expect(refused.reason).toContain(new Date(T0 + DAY).toISOString());
    const h = simulate(times.slice(0, 3)).history;
    expect(nextStep(profile, h, new Date(T0 + DAY - 1)).ok).toBe(false);
    expect(nextStep(profile, h, new Date(T0 + DAY)).ok).toBe(true);
    // Refused sessions never moved anyone and do not count.
    const withRefused = [...h.slice(0, 2), { startedAt: new Date(T0 + 2 * H).toISOString(), kind: "program" as const, outcome: "refused" as const, discomfort: false }];
    expect(nextStep(profile, withRefused, new Date(T0 + 3 * H)).ok).toBe(true);
  });

  it("remembers sessions dated after now (the clock was set back): their discomfort and the day's count", () => {
    const h = simulate([T0 + 1 * H, T0 + 2 * H, T0 + 3 * H], (i) => ({ outcome: i === 2 ? "aborted" : "completed", discomfort: i === 2 })).history;
    expect(h.map((e) => e.targetAngle)).toEqual([20, 25, 30]);
    // The clock goes back to between the second and third sessions: still three today, none allowed.
    expect(nextStep(profile, h, new Date(T0 + 2.5 * H)).ok).toBe(false);
    // A day later by the corrected clock, the discomfort of the latest session still steps back.
    const next = ok(nextStep(profile, h, new Date(T0 + 1 * H + DAY + 1)));
    expect(next.angle).toBeLessThan(30);
    expect(next.angle).toBe(ok(nextStep(profile, h, new Date(T0 + 3 * H + DAY + 1))).angle);
  });

  it("reads sessions in the order they ran, not by their dates, once the clock was set back", () => {
    const rampup = (seq: number, at: number, targetAngle: number, discomfort = false): HistoryEntry => ({
      seq, startedAt: new Date(at).toISOString(), kind: "rampup", targetAngle, outcome: discomfort ? "aborted" : "completed", discomfort,
    });
    // Two comfortable sessions, then the clock falls two days back (an RTC reset) and the third, at 30°,
    // ends in discomfort. Sorted by date it would come first, and the two older ones would climb back over it.
    const h = [rampup(1, T0, 20), rampup(2, T0 + H, 25), rampup(3, T0 - 2 * DAY, 30, true)];
    const next = ok(nextStep(profile, h, new Date(T0 + DAY + 2 * H)));
    expect(next.angle).toBe(20);
    expect(next.reason).toContain("discomfort");

    // The first weeks count from the session that ran first: one dated a month earlier by a reset clock
    // does not end them, so a beginner does not jump to the longer sessions and the profile maximum.
    const g = [rampup(1, T0, 20), rampup(2, T0 + H, 25), rampup(3, T0 - 30 * DAY, 30), rampup(4, T0 + DAY, 30)];
    const s = ok(nextStep(profile, g, new Date(T0 + 2 * DAY)));
    expect(s.phase).toBe("early");
    expect(s.angle).toBe(30);
    expect(s.minutes).toBeLessThanOrEqual(2);
  });

  it("never exceeds a lower profile maximum", () => {
    const s = nextStep({ maxAngle: 25 }, [
      { startedAt: new Date(T0).toISOString(), kind: "rampup", targetAngle: 20, outcome: "completed", discomfort: false },
      { startedAt: new Date(T0 + DAY).toISOString(), kind: "rampup", targetAngle: 25, outcome: "completed", discomfort: false },
    ], new Date(T0 + 2 * DAY));
    expect(ok(s).angle).toBe(25);
  });

  it("holds its invariants over arbitrary session histories", () => {
    const session = fc.record({
      gapH: fc.integer({ min: 0, max: 72 }),
      outcome: fc.constantFrom<HistoryEntry["outcome"]>("completed", "completed", "completed", "aborted", "fault"),
      discomfort: fc.boolean(),
      kind: fc.constantFrom<HistoryEntry["kind"]>("rampup", "rampup", "program"),
    });
    fc.assert(
      fc.property(fc.array(session, { maxLength: 60 }), fc.integer({ min: 20, max: 90 }), (plan, maxAngle) => {
        const history: HistoryEntry[] = [];
        let t = T0;
        for (const p of plan) {
          t += p.gapH * H;
          const s = nextStep({ maxAngle }, history, new Date(t));
          if (!s.ok) {
            // The refusal names a later time, at which a session is allowed.
            expect(s.nextAllowedAt.getTime()).toBeGreaterThan(t);
            expect(nextStep({ maxAngle }, history, s.nextAllowedAt).ok).toBe(true);
            continue;
          }
          const early = t < (history.length ? Date.parse(String(history[0].startedAt)) : t) + 14 * DAY;
          expect(s.angle).toBeLessThanOrEqual(early ? Math.min(30, maxAngle) : maxAngle);
          expect(s.angle).toBeGreaterThanOrEqual(DEFAULT_RAMPUP.minAngle);
          expect(s.allowedMaxAngle).toBe(s.angle);
          const [lo, hi] = early ? DEFAULT_RAMPUP.earlyMinutes : DEFAULT_RAMPUP.laterMinutes;
          expect(s.minutes).toBeGreaterThanOrEqual(lo);
          expect(s.minutes).toBeLessThanOrEqual(hi);
          const prev = history[history.length - 1];
          const inDay = history.filter((h) => Date.parse(String(h.startedAt)) > t - DAY).length;
          expect(inDay).toBeLessThan(3);
          history.push({ startedAt: new Date(t).toISOString(), kind: p.kind, targetAngle: p.kind === "rampup" ? s.angle : undefined, outcome: p.outcome, discomfort: p.discomfort });
          // One session changes the angle by at most one step up or two steps down.
          const after = nextStep({ maxAngle }, history, new Date(t));
          if (after.ok && prev) {
            expect(after.angle - s.angle).toBeLessThanOrEqual(5);
            expect(s.angle - after.angle).toBeLessThanOrEqual(10);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("explicit programs under the ramp-up", () => {
  const h: HistoryEntry[] = [{ startedAt: new Date(T0).toISOString(), kind: "rampup", targetAngle: 20, outcome: "completed", discomfort: false }];

  it("refuses a program above the allowed angle, naming the allowed value", () => {
    const step = nextStep(profile, h, new Date(T0 + DAY));
    const r = checkProgramAngle(45, step, "ann");
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.message).toContain("allows 25°");
      expect(r.message).toContain("45°");
      expect(r.message).toContain("--i-understand");
    }
    expect(checkProgramAngle(25, step, "ann").ok).toBe(true);
    expect(checkProgramAngle(0, step, "ann").ok).toBe(true);
  });

  it("lets a deliberately raised profile maximum cap programs instead", () => {
    const step = nextStep({ maxAngle: 70, rampupBypass: true }, h, new Date(T0 + DAY));
    expect(ok(step).angle).toBe(25);
    expect(ok(step).allowedMaxAngle).toBe(70);
    expect(checkProgramAngle(60, step, "ann").ok).toBe(true);
    expect(checkProgramAngle(75, step, "ann").ok).toBe(false);
  });
});

describe("sessions dated after now (the clock was ahead when they ran)", () => {
  const YEAR = 365 * DAY;
  const entry = (seq: number, at: number): HistoryEntry => ({
    seq, startedAt: new Date(at).toISOString(), kind: "rampup", targetAngle: 20, outcome: "completed", discomfort: false,
  });

  it("counts as run now: the refusal names at most 24 h from now, never the absurd date", () => {
    const ahead = [entry(1, T0 + YEAR)];
    const s = nextStep(profile, ahead, new Date(T0), { ...DEFAULT_RAMPUP, maxPerDay: 1 });
    expect(s.ok).toBe(false);
    if (s.ok) return;
    expect(s.nextAllowedAt.toISOString()).toBe(new Date(T0 + DAY).toISOString());
    expect(s.reason).not.toContain(new Date(T0 + YEAR).toISOString().slice(0, 4));
    expect(s.reason).toContain("1 of them is dated after now");
  });

  it("once a session has run after it, stops counting 24 h after that one instead of for a year", () => {
    // Dated a year ahead by a glitching clock; the clock is right from T0 on.
    const h = [entry(1, T0 + YEAR), entry(2, T0), entry(3, T0 + H)];
    // It ran before the session at T0, so it fills the third place until T0 + 24 h.
    const refused = nextStep(profile, h, new Date(T0 + 2 * H));
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.nextAllowedAt.toISOString()).toBe(new Date(T0 + DAY).toISOString());
    // The next day the user has the full three sessions again, not two a day until next year.
    h.push(entry(4, T0 + 25 * H), entry(5, T0 + 26 * H));
    expect(ok(nextStep(profile, h, new Date(T0 + 27 * H))).sessionNumber).toBe(6);
  });

  it("still refuses when the clock was set back after a full day: no extra sessions", () => {
    const h = [entry(1, T0), entry(2, T0 + H), entry(3, T0 + 2 * H)];
    const s = nextStep(profile, h, new Date(T0 - 2 * DAY));
    expect(s.ok).toBe(false);
    if (s.ok) return;
    expect(s.nextAllowedAt.getTime()).toBeLessThanOrEqual(T0 - 2 * DAY + DAY);
    // A session run after the set-back bounds the ones before it by its own date: they still count.
    expect(nextStep(profile, [...h.slice(0, 2), entry(3, T0 - 2 * DAY)], new Date(T0 - 2 * DAY + H)).ok).toBe(false);
  });
});
