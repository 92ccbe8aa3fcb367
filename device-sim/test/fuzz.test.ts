// Whatever arrives (valid, out-of-range, repeated or garbage commands, with faults injected at random
// times), the device never passes a hard limit, never exceeds its speed, force or rate limits, and once
// the companion falls silent it ends upright with no traction, on its own.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FAULTS } from "../../protocol/index.js";
import { createEmbeddedSim } from "../index.js";
import { Client, Invariants } from "./harness.js";
import { VirtualClock } from "../../protocol/index.js";

const CODES = Object.keys(FAULTS);

const act = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant("move" as const), target: fc.double({ min: -120, max: 120, noNaN: true }), speed: fc.double({ min: 0.1, max: 20, noNaN: true }), dupe: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("force" as const), target: fc.double({ min: 0, max: 900, noNaN: true }), rate: fc.double({ min: 1, max: 90, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constantFrom("stop" as const, "return" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("limits" as const),
      tiltMin: fc.option(fc.double({ min: -100, max: 100, noNaN: true }), { nil: undefined }),
      tiltMax: fc.option(fc.double({ min: -100, max: 100, noNaN: true }), { nil: undefined }),
      speedMax: fc.option(fc.double({ min: 0.5, max: 15, noNaN: true }), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("clear" as const), code: fc.constantFrom(...CODES) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("garbage" as const), bytes: fc.uint8Array({ maxLength: 300 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("fault" as const),
      f: fc.constantFrom("switch", "unplug", "ankle", "bias", "drift", "stuck", "stall", "overcurrent", "pull", "power", "drop", "corrupt"),
      durS: fc.double({ min: 0.1, max: 15, noNaN: true }),
    }),
  },
);
const step = fc.tuple(act, fc.integer({ min: 0, max: 8000 }));

describe("whatever arrives", () => {
  it("keeps every limit and always ends upright on its own", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 1000 }), (steps, seed) => {
        const clock = new VirtualClock();
        const { device, companion, link } = createEmbeddedSim({ clock, seed, config: { model: "combo", tilt: { restS: 20, pauseS: 5 } } });
        const inv = new Invariants(device);
        inv.keepSamples = false;
        // When neither sensor can be singled out, the documented choice is the more head-down reading,
        // which may carry the table past upright into the upright end stop, at crawl speed.
        let ambiguous = false;
        device.onEvent((e) => {
          if (e.code === "SENSOR_MISMATCH" && /more head-down/.test(e.msg)) ambiguous = true;
        });
        const pastUpright = (v: string): boolean => {
          if (/mechanical end stop/.test(v)) return true;
          const m = /tilt (-?[\d.e-]+) outside/.exec(v);
          return !!m && Number(m[1]) < -80 && Number(m[1]) >= -83 - 1e-9;
        };
        const c = new Client(companion, clock);
        clock.advance(20);
        c.send({ type: "hello", client: "fuzz", proto: [1] });
        c.heartbeat();
        let last = "x";
        const inj = device.inject;
        for (const [a, wait] of steps) {
          const ms = a.k === "fault" ? a.durS * 1000 : 0;
          switch (a.k) {
            case "move":
              last = a.dupe ? last : c.id();
              c.send({ type: "move", id: last, axis: "tilt", target: a.target, speed: a.speed });
              break;
            case "force":
              c.send({ type: "force", id: c.id(), axis: "traction", target: a.target, rate: a.rate });
              break;
            case "stop":
            case "return":
              c.send({ type: a.k, id: c.id() });
              break;
            case "limits":
              c.send({ type: "limits", id: c.id(), ...(a.tiltMin !== undefined && { tiltMin: a.tiltMin }), ...(a.tiltMax !== undefined && { tiltMax: a.tiltMax }), ...(a.speedMax !== undefined && { speedMax: a.speedMax }) });
              break;
            case "clear":
              c.send({ type: "clear", id: c.id(), code: a.code });
              break;
            case "garbage":
              link.a.write(a.bytes);
              break;
            case "fault":
              if (a.f === "switch") inj.pressStopSwitch({ durationMs: ms });
              else if (a.f === "unplug") {
                inj.stopSwitch("disconnected");
                inj.stopSwitch("ok", { at: clock.now() + ms });
              } else if (a.f === "ankle") {
                inj.ankleLock(false);
                inj.ankleLock(true, { at: clock.now() + ms });
              } else if (a.f === "bias") inj.sensorBias("inclinometer", 8, { durationMs: ms });
              else if (a.f === "drift") inj.sensorDrift("inclinometer", 2, { durationMs: ms });
              else if (a.f === "stuck") inj.sensorStuck("encoder", { durationMs: ms });
              else if (a.f === "stall") inj.motorStall({ durationMs: ms });
              else if (a.f === "overcurrent") inj.overcurrent(10, { durationMs: ms });
              else if (a.f === "pull") inj.externalForce(900, { durationMs: ms });
              else if (a.f === "power") inj.powerLoss(ms);
              else if (a.f === "drop") inj.dropLink(ms);
              else inj.corrupt(0.01, { durationMs: ms });
              break;
          }
          clock.advance(wait);
        }
        // The companion dies: the device must bring the user back by itself.
        c.stopHeartbeat();
        const settled = () => {
          const t = device.truth();
          const upright = ambiguous ? t.tilt >= -83 - 1e-9 && t.tilt <= -79.5 : Math.abs(t.tilt + 80) <= 0.5;
          return t.poweredOn && t.mode !== "returning" && t.vel === 0 && upright && t.force <= 5;
        };
        const ok = clock.runUntil(settled, 3_600_000);
        const t = device.truth();
        expect(
          inv.violations.filter((v) => !(ambiguous && pastUpright(v))),
          `seed ${seed}`,
        ).toEqual([]);
        expect(ok, `not upright: ${JSON.stringify(t)}`).toBe(true);
        device.stop();
      }),
      { numRuns: 25, seed: 20261122 },
    );
  });
});
