// The bridge driving the real session controller and the device simulator (embedded, on a sped-up real
// clock), over an aedes broker: signed starts run sessions, limits hold whoever asks, refusals say why.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RealClock } from "../../protocol/index.js";
import { createEmbeddedSim, type SimDevice } from "../../device-sim/index.js";
import { startBridge, type Bridge } from "../../src/bridge/bridge.js";
import { loadBridgeConfig } from "../../src/bridge/config.js";
import { SessionDevice } from "../../src/bridge/session-device.js";
import { resolveProgram } from "../../src/bridge/programs.js";
import { signCommand } from "../../src/bridge/signing.js";
import { DeviceLink } from "../../src/link/device-link.js";
import { startSession } from "../../src/session/run-session.js";
import { builtinNames } from "../../src/programs/library.js";
import { startAedes, type AedesBroker } from "../helpers/aedes.js";
import { Observer } from "./helpers.js";

const KEY_HEX = "33".repeat(32);
const KEY = Buffer.from(KEY_HEX, "hex");
const SPEED = 3;
/** Head-up, so no ankle lock and no rest near horizontal: a complete session in a few real seconds. */
const SHORT = { name: "short", steps: [{ type: "ramp", to: -50, speed: 10 }, { type: "hold", seconds: 2 }, { type: "return" }] };

let broker: AedesBroker;
let obs: Observer;
let bridge: Bridge | undefined;
let sim: SimDevice | undefined;
let maxTilt = -Infinity;

beforeEach(async () => {
  broker = await startAedes();
  obs = await Observer.connect(broker.url, ["invert/#"]);
  maxTilt = -Infinity;
});
afterEach(async () => {
  await bridge?.stop();
  bridge = undefined;
  sim?.stop();
  sim = undefined;
  await obs.close();
  await broker.close();
});

async function start(limits?: string) {
  const config = loadBridgeConfig({ mqtt: broker.url, device: ["sim"], deviceKey: [`sim=${KEY_HEX}`], bridgeId: "bs" });
  if (limits) config.devices[0].limits = JSON.parse(limits) as Record<string, number>;
  const simClock = new RealClock(SPEED);
  bridge = await startBridge({
    config,
    clock: new RealClock(),
    programNames: builtinNames(),
    version: "test",
    log: () => undefined,
    createDevice: (d) =>
      new SessionDevice(d.id, d.uri, {
        open: async () => {
          const e = createEmbeddedSim({ clock: simClock, seed: 7, config: { tilt: { approachSpeed: 4, returnSpeed: 8 } } });
          sim = e.device;
          sim.onStep((t) => {
            maxTilt = Math.max(maxTilt, t.tilt);
          });
          const link = new DeviceLink(e.companion, simClock);
          return { link, clock: simClock, close: async () => { await link.close(); e.device.stop(); } };
        },
        program: resolveProgram,
        startSession: (o) => startSession(o),
        clock: simClock,
        limits: d.limits,
      }),
  });
  await obs.waitTopic("invert/sim/availability", (v) => v.state === "online");
}

const signed = (action: string, body: Record<string, unknown>) => signCommand(body, KEY, Date.now(), { deviceId: "sim", action });

describe("bridge + session controller + simulator", () => {
  it("runs a signed start to completion and reports the phases in retained state", async () => {
    await start();
    const r = await obs.request("invert", "sim", "start", signed("start", { transaction: "go", program: SHORT }));
    expect(r).toMatchObject({ transaction: "go", status: "ok" });
    await obs.waitTopic("invert/sim/state", (v) => v.phase === "running" && v.program === "short");
    const done = await obs.waitTopic("invert/sim/state", (v) => v.phase === "completed", 30_000);
    expect(done).toMatchObject({ outcome: "completed", link: "online" });
    expect(maxTilt).toBeGreaterThan(-52);
    expect(maxTilt).toBeLessThanOrEqual(-49.8);
  });

  it("refuses a program past the bridge's limits before any motion, naming the limit", async () => {
    await start('{"tiltMax": 10}');
    const r = await obs.request("invert", "sim", "start", signed("start", { transaction: "hi", program: "beginner" }), 10_000);
    expect(r).toMatchObject({ transaction: "hi", status: "error", reason: expect.stringMatching(/refused.*10/) });
    expect(sim!.actedCommands()).toBeLessThanOrEqual(1);
    expect(maxTilt).toBeLessThan(-79);
  });

  it("refuses invalid and unknown programs and unsigned starts with a reason; nothing moves", async () => {
    await start();
    expect(await obs.request("invert", "sim", "start", signed("start", { transaction: 1, program: "nope" }))).toMatchObject({ status: "error", reason: expect.stringMatching(/unknown program "nope"/) });
    const bad = { name: "bad", steps: [{ type: "ramp", to: 200, speed: 5 }] };
    expect(await obs.request("invert", "sim", "start", signed("start", { transaction: 2, program: bad }))).toMatchObject({ status: "error", reason: expect.stringMatching(/step 1/) });
    expect(await obs.request("invert", "sim", "start", { transaction: 3, program: "beginner" })).toMatchObject({ status: "error", reason: expect.stringMatching(/^unsigned/) });
    expect(maxTilt).toBeLessThan(-79);
  });

  it("stops on request without a key and returns slowly; a second start while running is refused", async () => {
    await start();
    expect(await obs.request("invert", "sim", "start", signed("start", { transaction: "a", program: SHORT }))).toMatchObject({ status: "ok" });
    expect(await obs.request("invert", "sim", "start", signed("start", { transaction: "b", program: "beginner" }))).toMatchObject({ status: "error", reason: expect.stringMatching(/^busy/) });
    await obs.waitTopic("invert/sim/state", (v) => typeof v.angle === "number" && v.angle > -60, 10_000);
    expect(await obs.request("invert", "sim", "pause", { transaction: "p" })).toMatchObject({ status: "ok" });
    await obs.waitTopic("invert/sim/state", (v) => v.phase === "paused");
    expect(await obs.request("invert", "sim", "resume", signed("resume", { transaction: "r" }))).toMatchObject({ status: "ok" });
    await obs.waitTopic("invert/sim/state", (v) => v.phase === "running");
    expect(await obs.request("invert", "sim", "stop", { transaction: "s" })).toMatchObject({ status: "ok" });
    await obs.waitTopic("invert/sim/state", (v) => v.phase === "returning");
    const end = await obs.waitTopic("invert/sim/state", (v) => v.phase === "aborted" || v.phase === "completed", 30_000);
    expect(end.angle as number).toBeLessThan(-75);
  });
});
