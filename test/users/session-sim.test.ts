// Profile sessions against the embedded simulator in virtual time: the ramp-up program runs, the
// recorder keeps up with telemetry, and the history drives the next step.
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../protocol/index.js";
import { createEmbeddedSim } from "../../device-sim/index.js";
import { DeviceLink } from "../../src/link/device-link.js";
import { buildChartSpec, loadReportData, renderSvg } from "../../src/report/index.js";
import { startSession, type SessionHandle } from "../../src/session/run-session.js";
import { openStore, type Store } from "../../src/store/index.js";
import { createProfile } from "../../src/users/profiles.js";
import { openProfileSession } from "../../src/users/session-setup.js";
import { tempDir } from "../store/tmp.js";

const H = 3_600_000;
const T0 = Date.parse("2026-06-01T07:00:00Z");

/** One profile session on a fresh simulator; `during` may act on the running session. */
async function runProfileSession(store: Store, at: number, during?: (h: SessionHandle, clock: VirtualClock) => void) {
  const clock = new VirtualClock();
  const sim = createEmbeddedSim({ clock, seed: 3 });
  const link = new DeviceLink(sim.companion, clock, { idPrefix: "u" });
  const ps = openProfileSession("ann", undefined, { now: new Date(at), store, device: "sim" });
  const session = startSession({ link, clock, program: ps.program, profileLimits: ps.profileLimits });
  const errors: string[] = [];
  const rec = ps.record(session, { clock, onError: (l) => errors.push(l), caps: link.caps });
  const over = () => ["completed", "aborted", "fault", "refused"].includes(session.snapshot().phase);
  if (during) during(session, clock);
  clock.runUntil(over, 2 * H);
  const summary = await session.done;
  await ps.close();
  sim.device.stop();
  link.close();
  return { summary, id: rec.sessionId!, errors, prepared: ps.prepared };
}

describe("profile sessions on the simulator", () => {
  it("three ramp-up sessions climb 20, 25, 30 and are recorded at 10 Hz with their plan", async () => {
    const store = openStore(tempDir(), { now: () => new Date(T0) });
    createProfile(store, { name: "ann", weightKg: 70, heightCm: 170 }, { conditions: [] });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await runProfileSession(store, T0 + i * H));
    expect(results.map((r) => r.summary.outcome)).toEqual(["completed", "completed", "completed"]);
    expect(results.map((r) => r.prepared.step.angle)).toEqual([20, 25, 30]);
    expect(results.every((r) => r.errors.length === 0)).toBe(true);
    const listed = store.sessions.list();
    expect(listed.map((s) => [s.targetAngle, s.outcome])).toEqual([[20, "completed"], [25, "completed"], [30, "completed"]]);
    for (const s of listed) {
      // Reached the step's angle and never went past it.
      expect(s.measuredMaxAngle).toBeGreaterThan(s.targetAngle! - 0.5);
      expect(s.measuredMaxAngle).toBeLessThanOrEqual(s.targetAngle! + 0.5);
      const samples = store.sessions.samples(s.id);
      const span = samples[samples.length - 1].t - samples[0].t;
      expect(samples.length / span).toBeGreaterThanOrEqual(9.5);
    }
    const last = loadReportData(store, listed[2].id);
    expect(last.planned.length).toBeGreaterThan(10);
    expect(Math.max(...last.planned.map((p) => p.tilt))).toBeCloseTo(30, 5);
    expect(last.limits.tiltMax).toBe(30);
    const svg = await renderSvg(buildChartSpec(last));
    expect(svg).toContain(">planned</text>");
    expect(svg).toContain(">measured</text>");
    store.close();
  });

  it("a discomfort report is recorded and sends the next step back two steps", async () => {
    const store = openStore(tempDir(), { now: () => new Date(T0) });
    createProfile(store, { name: "ann", weightKg: 70, heightCm: 170 }, { conditions: [] });
    await runProfileSession(store, T0);
    await runProfileSession(store, T0 + 24 * H);
    const third = await runProfileSession(store, T0 + 48 * H, (h, clock) => {
      clock.runUntil(() => (h.snapshot().tilt ?? -80) > 10, 10 * 60_000);
      h.discomfort("dizziness");
    });
    expect(third.summary.outcome).toBe("aborted");
    const row = store.sessions.get(third.id);
    expect(row.discomfort).toBe(true);
    expect(store.sessions.discomfortReports(third.id).map((d) => d.kind)).toEqual(["dizziness"]);
    const next = openProfileSession("ann", undefined, { now: new Date(T0 + 72 * H), store });
    expect(next.prepared.step.angle).toBe(20);
    expect(next.explanation).toContain("discomfort");
    await next.close();
    store.close();
  });
});
