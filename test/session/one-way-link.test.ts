// A link that fails in one direction only (a broken wire, a radio that still hears but cannot be heard):
// the companion stops seeing telemetry while its own frames still reach the device. The device must not
// stay where it is, fed by heartbeats from a companion that believes it is returning on its own.
import { describe, expect, it } from "vitest";
import { VirtualClock, type AnyMsg, type MessageTransport, type TransportHandlers } from "../../protocol/index.js";
import { createEmbeddedSim, type SimTruth } from "../../device-sim/index.js";
import { DeviceLink } from "../../src/link/device-link.js";
import { startSession } from "../../src/session/run-session.js";
import { parseProgram } from "../../src/programs/schema.js";

/** The companion's transport with the device-to-companion direction cuttable, and outgoing frames filterable. */
class OneWayCut implements MessageTransport {
  deviceSilenced = false;
  dropOutgoing: (m: AnyMsg) => boolean = () => false;
  private h: TransportHandlers = { onMessage: () => {} };
  constructor(private readonly inner: MessageTransport) {
    inner.setHandlers({
      onMessage: (m) => {
        if (!this.deviceSilenced) this.h.onMessage(m);
      },
      onDrop: (r, d) => this.h.onDrop?.(r, d),
      onClose: (e) => this.h.onClose?.(e),
    });
  }
  send(m: AnyMsg): void {
    if (!this.dropOutgoing(m)) this.inner.send(m);
  }
  setHandlers(h: TransportHandlers): void {
    this.h = h;
  }
  get stats() {
    return this.inner.stats;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function cutDuringHold(opts: { dropReturn: boolean }) {
  const clock = new VirtualClock();
  const sim = createEmbeddedSim({ clock, seed: 3 });
  const t = new OneWayCut(sim.companion);
  const link = new DeviceLink(t, clock, { idPrefix: "s" });
  const program = parseProgram({ name: "hold", steps: [{ type: "ramp", to: 40, speed: 5 }, { type: "hold", seconds: 600 }] });
  const session = startSession({ link, clock, program });
  let state = "";
  session.onUpdate((s) => (state = s.state));
  expect(clock.runUntil(() => state.startsWith("running.hold"), 600_000)).toBe(true);
  clock.advance(5_000);
  if (opts.dropReturn) t.dropOutgoing = (m) => m.type === "return";
  t.deviceSilenced = true;
  const cutAt = clock.now();
  const truths: SimTruth[] = [];
  sim.device.onStep((s) => truths.push(s));
  const upright = (): boolean => sim.device.truth().tilt <= -79 && sim.device.truth().mode === "idle";
  expect(clock.runUntil(upright, 30 * 60_000)).toBe(true);
  const returnStart = truths.find((s) => s.mode === "returning");
  return { cutAt, truths, returnStart, doneAt: clock.now(), faults: sim.device.truth().faults };
}

describe("a link that fails one way", () => {
  for (const dropReturn of [false, true]) {
    it(`brings the user back slowly, resting near horizontal${dropReturn ? ", by the watchdog alone when the return command is lost too" : ""}`, () => {
      const r = cutDuringHold({ dropReturn });
      // The companion declares the link lost after one watchdog period of silence and goes quiet; with
      // the return command lost too, the device's own watchdog starts the return a period later.
      expect(r.returnStart).toBeDefined();
      expect(r.returnStart!.t - r.cutAt).toBeLessThanOrEqual(dropReturn ? 2_300 : 1_300);
      if (dropReturn) expect(r.faults).toContain("WATCHDOG");
      const during = r.truths.filter((s) => s.t >= r.returnStart!.t);
      // Never faster than the return speed (4 deg/s) on the way back, with a rest near horizontal.
      expect(Math.max(...during.map((s) => Math.abs(s.vel)))).toBeLessThanOrEqual(4.05);
      const nearFlat = during.filter((s) => Math.abs(s.tilt) < 1 && Math.abs(s.vel) < 0.01);
      expect(nearFlat.length * 10).toBeGreaterThanOrEqual(59_000);
    });
  }
});
