// The live view, plan preview and summary as pure functions of the session's state.
import { describe, expect, it } from "vitest";
import { getBuiltin } from "../../src/programs/library.js";
import type { SessionSnapshot, SessionSummary } from "../../src/session/run-session.js";
import type { EffectiveLimits } from "../../src/limits/effective.js";
import { clock, deg, fit } from "../../src/cli/live/format.js";
import { previewOf } from "../../src/cli/live/front-end.js";
import { gauge, renderLive, renderPlanPreview, renderSummary, type LiveView } from "../../src/cli/live/render.js";

const LIMITS: EffectiveLimits = {
  tiltMin: -80,
  tiltMax: 40,
  speedMax: 10,
  forceMax: 700,
  rateMax: 50,
  source: { tiltMin: "device", tiltMax: "profile", speedMax: "device", forceMax: "device", rateMax: "device" },
  axes: { tilt: true, traction: false },
};

function snap(over: Partial<SessionSnapshot> = {}): SessionSnapshot {
  return {
    phase: "running",
    state: "running.pump",
    elapsedS: 95,
    programS: 90,
    remainingS: 130,
    tilt: 20,
    vel: 2,
    step: { index: 3, type: "pump", label: "gentle rocking" },
    cycle: { k: 2, n: 4 },
    limits: LIMITS,
    link: { status: "up", rttMs: 3.2, stale: false, lostAcks: 0, retries: 0, rxDrops: 0 },
    discomfort: false,
    safety: "none",
    ...over,
  };
}

const view = (over: Partial<SessionSnapshot> = {}, v: Partial<LiveView> = {}): LiveView => ({ snap: snap(over), program: "my-first-program", device: "sim", speed: 20, keys: true, width: 120, ...v });

describe("gauge", () => {
  it("fills in proportion to the value between the limits", () => {
    expect(gauge(-80, -80, 40, 12)).toBe("[············]");
    expect(gauge(40, -80, 40, 12)).toBe("[████████████]");
    expect(gauge(-20, -80, 40, 12)).toBe("[██████······]");
  });
  it("marks the horizontal inside the range and pins values outside it", () => {
    expect(gauge(-80, -80, 40, 12, 0)).toBe("[········|···]");
    expect(gauge(55, -80, 40, 12)).toBe("[████████████>");
    expect(gauge(-90, -80, 40, 12)).toBe("<············]");
  });
});

describe("renderLive", () => {
  it("shows program, device, speed and link; phase, step and cycle; the angle against the limits; times; keys", () => {
    const lines = renderLive(view());
    expect(lines[0]).toBe("invert · my-first-program · sim at 20x · link up, rtt 3.2 ms");
    expect(lines[1]).toBe("RUNNING · step 3 pump: gentle rocking · cycle 2 of 4");
    expect(lines[2]).toMatch(/^tilt +20\.0° head-down +-80° \[█+·*\] 40° limit$/);
    // 100 of 120 degrees of range covered: the filled part is 5/6 of the gauge.
    const bar = /\[(.*)\]/.exec(lines[2])![1];
    expect([...bar].filter((c) => c === "█").length / [...bar].length).toBeCloseTo(100 / 120, 1);
    expect(lines[3]).toBe("elapsed 1:35  ·  about 2:10 left (with the slow return)");
    expect(lines.at(-1)).toBe("keys: space pause/resume · s stop and return · p discomfort · Ctrl-C stop");
  });

  it("shows the force gauge only when the device has a traction axis", () => {
    expect(renderLive(view({ force: 300 })).some((l) => l.startsWith("force"))).toBe(false);
    const lines = renderLive(view({ force: 350, limits: { ...LIMITS, axes: { tilt: true, traction: true } } }));
    expect(lines.find((l) => l.startsWith("force"))).toMatch(/^force +350 N +0 N \[█+·+\] 700 N limit$/);
  });

  it("names the return's sub-phase and why it runs; the discomfort and Ctrl-C notices", () => {
    const ret = renderLive(view({ phase: "returning", state: "returning.rest", step: undefined, cycle: undefined, reason: "stopped by the user", remainingS: 80 }));
    expect(ret[1]).toBe("RETURNING slowly (resting near horizontal)");
    expect(renderLive(view({ phase: "returning", state: "returning.somethingNew", step: undefined, cycle: undefined }))[1]).toBe("RETURNING slowly (somethingNew)");
    expect(ret).toContain("why: stopped by the user");
    expect(ret).toContain("elapsed 1:35  ·  about 1:20 left");
    const hurt = renderLive(view({ phase: "returning", state: "returning.descend", discomfort: true, reason: "discomfort reported" }, { interrupts: 0 }));
    expect(hurt).toContain("discomfort reported: stopping and returning slowly");
    expect(renderLive(view({ phase: "returning", state: "returning.rise" }, { interrupts: 1 }))).toContain(
      "Ctrl-C: stopping, returning slowly to upright; the command ends when the return is done",
    );
    expect(renderLive(view({ phase: "returning", state: "returning.rise" }, { interrupts: 2 }))).toContain("still returning slowly; the command ends once the table is upright");
  });

  it("pause by the user or the supervisor, link trouble, no telemetry yet, no keys", () => {
    expect(renderLive(view({ phase: "paused", pausedBy: "user" }))[1]).toMatch(/^PAUSED \(space to resume\) · step 3/);
    expect(renderLive(view({ phase: "paused", pausedBy: "supervisor" }))[1]).toMatch(/^PAUSED by the safety supervisor/);
    expect(renderLive(view({ link: { status: "lost", stale: true, lostAcks: 2, retries: 3, rxDrops: 4 } }))[0]).toBe(
      "invert · my-first-program · sim at 20x · link lost (telemetry stale), 3 retries, 4 bad frames",
    );
    expect(renderLive(view({ phase: "connecting", tilt: undefined, limits: undefined }))).toContain("tilt  waiting for the device's telemetry");
    expect(renderLive(view({}, { keys: false })).some((l) => l.startsWith("keys:"))).toBe(false);
    expect(renderLive(view({ phase: "completed", state: "completed" })).some((l) => l.startsWith("keys:"))).toBe(false);
  });

  it("never draws a line wider than the terminal", () => {
    for (const width of [40, 60, 80]) {
      for (const l of renderLive(view({ force: 100, limits: { ...LIMITS, axes: { tilt: true, traction: true } } }, { width }))) expect([...l].length).toBeLessThanOrEqual(width);
    }
  });
});

describe("plan preview", () => {
  it("names steps, total time, the return estimate and the max angle of a built-in program", () => {
    const p = previewOf(getBuiltin("beginner")!)!;
    const lines = renderPlanPreview(p, 120);
    expect(lines[0]).toMatch(/^plan: beginner: 2 steps, 1:5\d then about 1:\d\d of slow return, max angle 20° at up to 4\.0°\/s$/);
    expect(lines[1]).toMatch(/^ +1\. ramp +at +0:00 for 0:2\d +max 20° +/);
    expect(lines[2]).toMatch(/^ +2\. hold +at +0:2\d for 1:30 +max 20° +/);
  });
  it("cuts long programs short and says how many steps are left out", () => {
    const p = previewOf(getBuiltin("combo")!)!;
    expect(p.plan.steps.length).toBe(2);
    const lines = renderPlanPreview(p, 120, 1);
    expect(lines[0]).toMatch(/, max angle 20° at up to 4\.0°\/s, max force 150 N$/);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe("  ... and 1 more step");
    // On a narrow terminal the peaks move to their own line instead of being cut off.
    const narrow = renderPlanPreview(p, 80, 1);
    expect(narrow[0]).toMatch(/^plan: combo: 2 steps, 5:10 then about \d:\d\d of slow return$/);
    expect(narrow[1]).toBe("  max angle 20° at up to 4.0°/s, max force 150 N");
  });
});

describe("summary", () => {
  const base: SessionSummary = {
    outcome: "completed",
    program: "beginner",
    maxAngle: 20.013,
    maxSpeed: 4,
    maxForce: 0,
    durationS: 219.4,
    events: [],
    limits: LIMITS,
    discomfort: false,
    finalTilt: -79.96,
    link: { lostAcks: 0, retries: 0, rxFrames: 2000, rxDrops: 0, losses: 0, reboots: 0, rttAvgMs: 1.25 },
  };
  it("a completed session: figures and the final position", () => {
    expect(renderSummary(base, 100)).toEqual([
      "session completed: beginner",
      "  duration 3:39 · max angle 20.0° · max speed 4.0°/s",
      "  ended at -80.0° (upright)",
      "  link: rtt 1.3 ms",
    ]);
  });
  it("an aborted session: discomfort, why, and the notable events", () => {
    const lines = renderSummary(
      {
        ...base,
        outcome: "aborted",
        discomfort: true,
        discomfortKind: "pain",
        reason: "discomfort reported",
        events: [
          { t: 0, atS: 0, source: "device", kind: "info", code: "BOOT", message: "reset" },
          { t: 1, atS: 9, source: "session", kind: "discomfort", code: "DISCOMFORT", message: "user reported pain" },
        ],
      },
      100,
    );
    expect(lines).toContain("  discomfort reported (pain): recorded, slow return done");
    expect(lines).toContain("  why: discomfort reported");
    expect(lines.slice(-2)).toEqual(["  events:", "    +0:09 DISCOMFORT: user reported pain"]);
  });
});

describe("formatters", () => {
  it("clock, degrees without a negative zero, fit", () => {
    expect([clock(0), clock(59.6), clock(61), clock(3725)]).toEqual(["0:00", "1:00", "1:01", "1:02:05"]);
    expect(deg(-0.01)).toBe("0.0°");
    expect(deg(-80.04)).toBe("-80.0°");
    expect(fit("abcdefghijklmnop", 10)).toBe("abcdefghi…");
    expect(fit("short", 10)).toBe("short");
  });
});
