// Exit actions do not run when an actor is stopped (statelyai/xstate#4630): the motor must still stop.
// The move runs in an invoked actor whose cleanup sends `stop`; stopping the session actor runs it.
import { describe, expect, it } from "vitest";
import { createActor } from "xstate";
import { VirtualClock } from "../../protocol/index.js";
import { createEmbeddedSim } from "../../device-sim/index.js";
import { DeviceLink } from "../../src/link/device-link.js";
import { compileProgram } from "../../src/programs/compile.js";
import { getBuiltin } from "../../src/programs/library.js";
import { sessionMachine } from "../../src/session/machine.js";

describe("stopping the session actor mid-move", () => {
  it("stops the table through the move's cleanup, not an exit action", () => {
    const clock = new VirtualClock();
    const sim = createEmbeddedSim({ clock });
    const link = new DeviceLink(sim.companion, clock);
    link.onTelemetry((tlm) => {
      if (actor.getSnapshot().status === "active") actor.send({ type: "TLM", tlm });
    });
    const program = getBuiltin("beginner")!;
    const actor = createActor(sessionMachine, { clock, input: { link, clock, program, actions: compileProgram(program) } });
    actor.start();
    actor.send({ type: "CONNECT" });
    clock.runUntil(() => actor.getSnapshot().matches({ running: "ramp" }), 10_000);
    clock.advance(8000);
    expect(sim.device.truth().vel).toBeGreaterThan(3);
    actor.stop();
    clock.advance(2000);
    // The link still heartbeats, so no watchdog is involved: only the `stop` from the cleanup halts it.
    expect(Math.abs(sim.device.truth().vel)).toBeLessThan(0.01);
    clock.advance(20_000);
    expect(sim.device.truth().tilt).toBeLessThan(0);
    expect(sim.device.truth().mode).not.toBe("returning");
  });
});
