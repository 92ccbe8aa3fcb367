import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../protocol/index.js";
import { openDevice } from "../../src/link/connect.js";

describe("openDevice", () => {
  it("opens the embedded simulator on the caller's virtual clock; the link handshakes in virtual time", async () => {
    const clock = new VirtualClock();
    const conn = await openDevice("sim", { clock, simConfig: { model: "combo" } });
    expect(conn.sim).toBeDefined();
    expect(conn.clock).toBe(clock);
    let model: string | undefined;
    conn.link.startHandshake((_e, caps) => (model = caps?.model));
    clock.runUntil(() => model !== undefined, 5000);
    expect(model).toBeDefined();
    expect(conn.link.caps?.axes.traction).toBeDefined();
    await conn.close();
    expect(conn.link.status).toBe("closed");
  });

  it("refuses --speed for a real device and names a bad device", async () => {
    await expect(openDevice("serial:/dev/ttyUSB0", { speed: 10 })).rejects.toThrow(/only the simulator/);
    await expect(openDevice("serial:/dev/does-not-exist-invert")).rejects.toThrow(/does-not-exist-invert/);
    await expect(openDevice("bogus")).rejects.toThrow(/not a device name/);
  });

  it("runs the simulator from wall time (the pump advances the shared virtual clock)", async () => {
    const conn = await openDevice("sim", { speed: 20 });
    const caps = await conn.link.handshake();
    expect(caps.proto).toBe(1);
    const v0 = conn.clock.now();
    await new Promise<void>((resolve) => {
      const h = setInterval(() => {
        if (conn.clock.now() - v0 >= 2000) {
          clearInterval(h);
          resolve();
        }
      }, 5);
    });
    expect(conn.sim!.truth().t).toBeGreaterThanOrEqual(v0 + 2000 - 10);
    await conn.close();
  });
});
