// A hold for stale telemetry is lifted only once telemetry has been on time for a while, and a link that
// keeps going stale ends the session with a return. A flaky link that gets one sample through every
// 600 ms must not alternate hold and motion with every sample.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_THRESHOLDS, supervise, type Observed, type SafetyAction, type SafetyDecision, type SupervisorMemory } from "../../src/safety/supervisor.js";
import type { TelemetryMsg } from "../../protocol/index.js";
import { PERIOD, observe, sample } from "./holding.js";

const CLEAR_MS = DEFAULT_THRESHOLDS.staleClearPeriods * PERIOD;


interface Arrival {
  at: number;
  /** Device time; the arrival time unless given. */
  t?: number;
  over?: Partial<TelemetryMsg>;
}

/** Periodic checks as the session's tick makes them, half a period out of step with the samples. */
function ticks(until: number): number[] {
  const out: number[] = [];
  for (let t = PERIOD / 2; t <= until; t += PERIOD) out.push(t);
  return out;
}

/**
 * Judges as the session does: every sample at its arrival, and a check at each of `checks`, with the
 * memory of the previous call. Returns every decision with its time.
 */
function judge(arrivals: Arrival[], until: number, checks: number[] = ticks(until)): { at: number; d: SafetyDecision }[] {
  const calls: { at: number; arrival?: Arrival }[] = arrivals.map((a) => ({ at: a.at, arrival: a }));
  for (const t of checks) calls.push({ at: t });
  // A sample arriving at a tick is judged first.
  calls.sort((a, b) => a.at - b.at || (a.arrival ? 0 : 1) - (b.arrival ? 0 : 1));
  let memory: SupervisorMemory = {};
  let last: Arrival | undefined;
  const out: { at: number; d: SafetyDecision }[] = [];
  for (const c of calls) {
    if (c.arrival) last = c.arrival;
    if (!last) continue;
    const d = supervise(c.at, observe(sample(last.t ?? last.at, last.over), last.at), memory);
    memory = d.memory;
    out.push({ at: c.at, d });
  }
  return out;
}

/** The actions in the order they took over, each once. */
function changes(ds: { d: SafetyDecision }[]): SafetyAction[] {
  const out: SafetyAction[] = [];
  for (const { d } of ds) if (out[out.length - 1] !== d.action) out.push(d.action);
  return out;
}

function every(from: number, to: number, step = PERIOD): Arrival[] {
  const out: Arrival[] = [];
  for (let at = from; at < to; at += step) out.push({ at });
  return out;
}

describe("a stale-telemetry hold", () => {
  it("is not lifted by each sample a flaky link gets through (one every 600 ms)", () => {
    const arrivals = [...every(0, 1000), ...every(1000, 7000, 600)];
    const ds = judge(arrivals, 7000);
    // Before: none, warn, hold, none, warn, hold, none, ...: motion resumed between every two gaps.
    expect(changes(ds)).toEqual(["none", "warn", "hold"]);
    const held = ds.filter((x) => x.at >= 1600);
    expect(held.every((x) => x.d.action === "hold")).toBe(true);
    expect(held.find((x) => x.at === 1850)?.d.findings[0].message).toMatch(/telemetry back after a stale hold/);
  });

  it("is lifted once telemetry has been on time for staleClearPeriods, and not a period earlier", () => {
    // Silent from 1000 to 2000 (hold at 1450), then samples every period.
    const arrivals = [...every(0, 1000), ...every(2000, 4000)];
    const ds = judge(arrivals, 4000);
    const at = (t: number): SafetyAction | undefined => ds.filter((x) => x.at === t).at(-1)?.d.action;
    expect(at(1450)).toBe("hold");
    expect(at(2000)).toBe("hold");
    expect(at(2000 + CLEAR_MS - PERIOD)).toBe("hold");
    expect(at(2000 + CLEAR_MS)).toBe("none");
    expect(changes(ds)).toEqual(["none", "warn", "hold", "none"]);
  });

  it("starts the count over after a gap past the warn threshold, even one no call saw", () => {
    // After the check that holds, only the samples are judged: the gaps are seen from the samples alone.
    const arrivals = [...every(0, 1000), { at: 1600 }, ...every(2000, 2500), ...every(2900, 5000)];
    const ds = judge(arrivals, 5000, [1550]);
    const at = (t: number): SafetyAction | undefined => ds.find((x) => x.at === t)?.d.action;
    expect(at(1600)).toBe("hold");
    expect(at(2900 + CLEAR_MS - PERIOD)).toBe("hold");
    expect(at(2900 + CLEAR_MS)).toBe("none");
    // A gap of two periods (not stale) does not restart it.
    const short = judge([...every(0, 1000), { at: 1600 }, ...every(2000, 2500), ...every(2600, 4000)], 4000, [1550]);
    expect(short.find((x) => x.at === 3000)?.d.action).toBe("none");
  });

  it("is not lifted while the device time stands still, however on time the frames arrive", () => {
    const arrivals: Arrival[] = [...every(0, 1000), ...every(1600, 4000).map((a) => ({ at: a.at, t: 1600 }))];
    const ds = judge(arrivals, 4000);
    expect(ds.filter((x) => x.at >= 2200).every((x) => x.d.action === "hold")).toBe(true);
  });

  it("escalates to a return on the third stale hold within a minute", () => {
    // Three outages of 700 ms, each followed by 3 s on time (enough to lift the hold).
    const arrivals = [...every(0, 10_000), ...every(10_700, 20_000), ...every(20_700, 30_000), ...every(30_700, 34_000)];
    const ds = judge(arrivals, 34_000);
    expect(changes(ds)).toEqual(["none", "warn", "hold", "none", "warn", "hold", "none", "warn", "return", "none"]);
    const ret = ds.find((x) => x.d.action === "return");
    // The first check past five periods of silence after the last sample (29 900).
    expect(ret?.at).toBe(30_450);
    expect(ret?.d.findings[0].message).toMatch(/3 stale holds within 60 s/);
    // Like the hold it replaces, it lasts until the telemetry has been on time for long enough.
    expect(ds.filter((x) => x.at >= 30_450 && x.at < 30_700 + CLEAR_MS).every((x) => x.d.action === "return")).toBe(true);
  });

  it("does not escalate holds further apart than the window", () => {
    const arrivals = [...every(0, 10_000), ...every(10_700, 40_000), ...every(40_700, 75_000), ...every(75_700, 78_000)];
    const ds = judge(arrivals, 78_000);
    expect(changes(ds)).toEqual(["none", "warn", "hold", "none", "warn", "hold", "none", "warn", "hold", "none"]);
  });
});

describe("a hold for another cause", () => {
  it("clears as soon as its condition does, without waiting for any on-time run", () => {
    const off = { tilt: 24, tilt2: 24 };
    const arrivals: Arrival[] = [...every(0, 600).map((a) => ({ ...a, over: off })), ...every(600, 1000)];
    const ds = judge(arrivals, 1000);
    expect(ds.find((x) => x.at === 500)?.d.action).toBe("hold");
    expect(ds.find((x) => x.at === 600)?.d.action).toBe("none");
  });

  it("is not kept by a stale hold being lifted, nor keeps it", () => {
    // Tracking off while the stale hold is being lifted: both hold; the tracking error ending changes nothing.
    const off = { tilt: 24, tilt2: 24 };
    const arrivals: Arrival[] = [...every(0, 1000), ...every(2000, 2700).map((a) => ({ ...a, over: off })), ...every(2700, 4000)];
    const ds = judge(arrivals, 4000);
    const at = (t: number): SafetyDecision | undefined => ds.filter((x) => x.at === t).at(-1)?.d;
    expect(at(2600)?.findings.map((f) => f.check).sort()).toEqual(["stale", "tracking"]);
    expect(at(2700)?.findings.map((f) => f.check)).toEqual(["stale"]);
    expect(at(3000)?.action).toBe("none");
  });
});

describe("recheckAt with a stale hold", () => {
  it("is while lifting when the on-time run is long enough or the telemetry turns stale, whichever comes first", () => {
    const ds = judge([...every(0, 1000), ...every(2000, 3000)], 3000, [1450]);
    const at = (t: number): SafetyDecision | undefined => ds.find((x) => x.at === t)?.d;
    expect(at(2000)?.recheckAt).toBe(2000 + DEFAULT_THRESHOLDS.staleWarnPeriods * PERIOD);
    expect(at(2900)?.recheckAt).toBe(2000 + CLEAR_MS);
    expect(supervise(2000 + CLEAR_MS, observe(sample(2900), 2900), at(2900)?.memory).action).toBe("none");
  });

  it("lets a periodic caller skip checks until then and decide exactly as one that checks every 10 ms", () => {
    // Runs of samples about on time, each ending in a gap that may or may not make the telemetry stale.
    const run = fc.record({
      steps: fc.array(fc.record({ gap: fc.integer({ min: 60, max: 140 }), stuck: fc.integer({ min: 0, max: 7 }).map((n) => n === 0) }), { maxLength: 25 }),
      gap: fc.integer({ min: 140, max: 1500 }),
    });
    fc.assert(
      fc.property(fc.array(run, { minLength: 1, maxLength: 8 }), (runs) => {
        const arrivals: Arrival[] = [];
        let at = 0;
        let t = 0;
        for (const r of runs) {
          for (const s of [...r.steps, { gap: r.gap, stuck: false }]) {
            at += s.gap;
            if (!s.stuck) t = at;
            arrivals.push({ at, t });
          }
        }
        const until = at + 2000;
        let full: SupervisorMemory = {};
        let lazy: SupervisorMemory = {};
        let lazyD: SafetyDecision | undefined;
        let i = 0;
        let o: Observed | undefined;
        let now = arrivals[0].at;
        while (now <= until) {
          const arrived = i < arrivals.length && arrivals[i].at === now;
          if (arrived) {
            const a = arrivals[i++];
            o = observe(sample(a.t ?? a.at), a.at);
          }
          const tick = Math.floor(now / 10) * 10 + 10;
          const at = now;
          now = i < arrivals.length && arrivals[i].at < tick ? arrivals[i].at : tick;
          if (!o) continue;
          const d = supervise(at, o, full);
          full = d.memory;
          if (arrived || !lazyD || at >= lazyD.recheckAt) {
            lazyD = supervise(at, o, lazy);
            lazy = lazyD.memory;
          }
          expect({ action: lazyD.action, findings: lazyD.findings, memory: lazyD.memory }, `at ${at}`).toEqual({ action: d.action, findings: d.findings, memory: d.memory });
        }
      }),
      { numRuns: 200 },
    );
  });
});
