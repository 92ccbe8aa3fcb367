// SessionDevice on virtual time with the embedded simulator: link state, telemetry in the state,
// and the latched-fault path (a lost link latches WATCHDOG; starts are refused until a clear).
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../protocol/index.js";
import { createEmbeddedSim, type SimDevice } from "../../device-sim/index.js";
import { resolveProgram } from "../../src/bridge/programs.js";
import { SessionDevice, type SessionDeviceDeps } from "../../src/bridge/session-device.js";
import { DeviceLink } from "../../src/link/device-link.js";
import { startSession } from "../../src/session/run-session.js";

const SHORT = { name: "short", steps: [{ type: "ramp", to: -50, speed: 10 }, { type: "hold", seconds: 2 }, { type: "return" }] };

type Deps = SessionDeviceDeps<DeviceLink, ReturnType<typeof resolveProgram>>;

function setup(extra: Partial<Deps> = {}) {
  const clock = new VirtualClock();
  let sim: SimDevice | undefined;
  let opens = 0;
  const dev = new SessionDevice("v1", "sim", {
    open: async () => {
      opens++;
      const e = createEmbeddedSim({ clock, seed: 11 });
      sim = e.device;
      const link = new DeviceLink(e.companion, clock);
      return { link, clock, close: async () => { await link.close(); e.device.stop(); } };
    },
    program: resolveProgram,
    startSession: (o) => startSession(o),
    clock,
    ...extra,
  });
  /** Advances virtual time in small steps, letting promise continuations run in between. */
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 10) {
      clock.advance(10);
      await new Promise((r) => setImmediate(r));
    }
  };
  /** Runs a promise to completion on virtual time (bounded). */
  const settle = async <T>(p: Promise<T>, maxMs = 60_000): Promise<T> => {
    let done = false;
    let value: T | undefined;
    void p.then((v) => {
      done = true;
      value = v;
    });
    for (let t = 0; t < maxMs && !done; t += 10) await run(10);
    if (!done) throw new Error("did not settle in virtual time");
    return value as T;
  };
  return { clock, dev, run, settle, sim: () => sim!, opens: () => opens };
}

describe("SessionDevice (virtual time)", () => {
  it("goes online with the device's telemetry in its state", async () => {
    const { dev, run } = setup();
    const changes: boolean[] = [];
    dev.onChange((u) => changes.push(u));
    await run(500);
    expect(dev.state()).toMatchObject({ link: "online", mode: "idle", stop_switch: "ok", ankle_lock: true });
    expect(dev.state().angle).toBeCloseTo(-80, 0);
    expect(dev.info()).toMatchObject({ axes: { tilt: true } });
    expect(changes).toContain(true);
  });

  it("a latched WATCHDOG is cleared by `clear`, or by the preflight of a new start", async () => {
    const { dev, run, settle, sim, opens } = setup();
    await run(500);
    sim().inject.dropLink(2500);
    await run(4000);
    expect(opens()).toBe(1);
    expect(dev.state().faults).toContain("WATCHDOG");
    expect(await settle(dev.clear())).toEqual({ ok: true, data: { cleared: ["WATCHDOG"] } });
    await run(300);
    expect(dev.state().faults).toEqual([]);
    // A start is itself a deliberate new start: its preflight clears a watchdog left from before.
    sim().inject.dropLink(2500);
    await run(4000);
    expect(dev.state().faults).toContain("WATCHDOG");
    const ok = await settle(dev.start({ program: SHORT }));
    expect(ok).toMatchObject({ ok: true });
    expect(await settle(dev.clear())).toMatchObject({ ok: false, reason: expect.stringMatching(/^busy/) });
    await run(40_000);
    expect(dev.state()).toMatchObject({ phase: "completed", outcome: "completed" });
    expect(dev.state().faults).toEqual([]);
  });

  it("answers stop and discomfort without a session, and refuses pause/resume then", async () => {
    const { dev, run } = setup();
    await run(500);
    expect(dev.stop()).toMatchObject({ ok: true });
    expect(dev.discomfort("pain")).toMatchObject({ ok: true });
    expect(dev.pause()).toMatchObject({ ok: false, reason: expect.stringMatching(/no session/) });
    expect(dev.resume()).toMatchObject({ ok: false });
    expect(dev.select("nope")).toMatchObject({ ok: false, reason: expect.stringMatching(/unknown program "nope"/) });
    expect(dev.select("beginner")).toEqual({ ok: true });
    expect(dev.state().program).toBe("beginner");
  });

  it("a pause during the preflight holds the session once its checks pass: nothing moves until resume", async () => {
    const { dev, run, settle, sim } = setup();
    await run(500);
    const p = dev.start({ program: SHORT });
    await run(20);
    expect(dev.state().phase).toBe("preflight");
    expect(dev.pause()).toEqual({ ok: true });
    expect(await settle(p)).toMatchObject({ ok: true });
    await run(3000);
    expect(dev.state().phase).toMatch(/^paused/);
    expect(sim().truth().tilt).toBeCloseTo(-80, 0);
    expect(dev.resume()).toEqual({ ok: true });
    await run(3000);
    expect(sim().truth().tilt).toBeGreaterThan(-79);
  });

  it("never answers ok to a pause the session cannot take", async () => {
    const { dev, run, settle } = setup();
    await run(500);
    expect(await settle(dev.start({ program: SHORT }))).toMatchObject({ ok: true });
    await run(1000);
    expect(dev.stop()).toEqual({ ok: true });
    await run(100);
    expect(dev.state().phase).toMatch(/^returning/);
    expect(dev.state()).toMatchObject({ reason: "stopped by the user", outcome: undefined });
    expect(dev.pause()).toMatchObject({ ok: false, reason: expect.stringMatching(/^pause: not possible now \(session returning/) });
  });

  describe("a start waiting at the start gate", () => {
    /** A gate that lets nothing through until released, as when other starts hold every slot. */
    function heldGate() {
      let release!: () => void;
      const open = new Promise<void>((r) => (release = r));
      let waiting = 0;
      const startGate = async <T>(fn: () => Promise<T>): Promise<T> => {
        waiting++;
        await open;
        return fn();
      };
      return { startGate, release, waiting: () => waiting };
    }

    it("runs once its turn comes", async () => {
      const g = heldGate();
      const { dev, run, settle } = setup({ startGate: g.startGate });
      await run(500);
      const p = dev.start({ program: SHORT });
      await run(1000);
      expect(g.waiting()).toBe(1);
      expect(dev.state().phase).toBe("idle");
      // A second start meanwhile is refused: one is already on its way.
      expect(await settle(dev.start({ program: SHORT }))).toMatchObject({ ok: false, reason: expect.stringMatching(/^busy/) });
      g.release();
      expect(await settle(p)).toMatchObject({ ok: true });
      expect(dev.state().phase).toMatch(/^running/);
    });

    for (const [what, act] of [
      ["stop", (d: SessionDevice<DeviceLink, ReturnType<typeof resolveProgram>>) => d.stop()],
      ["discomfort", (d: SessionDevice<DeviceLink, ReturnType<typeof resolveProgram>>) => d.discomfort("dizziness")],
      ["pause", (d: SessionDevice<DeviceLink, ReturnType<typeof resolveProgram>>) => d.pause()],
    ] as const) {
      it(`is cancelled by ${what} and never moves the table`, async () => {
        const g = heldGate();
        const { dev, run, settle, sim } = setup({ startGate: g.startGate });
        await run(500);
        const p = dev.start({ program: SHORT });
        await run(100);
        expect(act(dev)).toMatchObject({ ok: true, data: { note: "start cancelled before the session started" } });
        g.release();
        expect(await settle(p)).toMatchObject({ ok: false, reason: expect.stringMatching(/^start cancelled: (stopped|discomfort \(dizziness\) reported|paused) before the session started$/) });
        await run(3000);
        expect(dev.state().phase).toBe("idle");
        expect(sim().truth().tilt).toBeCloseTo(-80, 0);
        expect(sim().truth().mode).toBe("idle");
        // Nothing is left queued: the next start runs.
        expect(await settle(dev.start({ program: SHORT }))).toMatchObject({ ok: true });
      });
    }
  });
});

