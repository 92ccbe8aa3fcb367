// Commands in flight across a device reboot, and timers left behind by answers that arrive within send().
import { describe, expect, it } from "vitest";
import { VirtualClock, type AckMsg } from "../../protocol/index.js";
import { DeviceLink, LinkError } from "../../src/link/device-link.js";
import { FakeDevice, fakeCaps } from "./fake-device.js";

function upLink() {
  const clock = new VirtualClock();
  const dev = new FakeDevice(clock);
  const link = new DeviceLink(dev.companionSide, clock, { idPrefix: "t" });
  let settled = false;
  link.startHandshake(() => (settled = true));
  clock.runUntil(() => settled, 5000);
  expect(link.status).toBe("up");
  return { clock, dev, link };
}

describe("DeviceLink after a device reboot", () => {
  it("never retries a command sent before the reboot: the device forgot its id and would act on it again", () => {
    const { clock, dev, link } = upLink();
    dev.startTelemetry();
    dev.ignore = (m) => m.type === "move";
    let err: LinkError | undefined;
    const acks: AckMsg[] = [];
    link.sendCommand({ type: "move", axis: "tilt", target: 30, speed: 5 }, { onAck: (a) => acks.push(a), onNoAck: (e) => (err = e) });
    clock.advance(100);
    // Unsolicited caps with a new boot id, then a device that answers everything again.
    dev.caps = fakeCaps({ boot: "b2" });
    dev.send(dev.caps);
    dev.ignore = () => false;
    clock.advance(3000);
    expect(dev.of("move")).toHaveLength(1);
    expect(acks).toEqual([]);
    expect(err?.code).toBe("rebooted");
    expect(err?.message).toMatch(/rebooted/);
  });

  it("ends the wait for a 'done' that the rebooted device will never send, but keeps what its listeners send", () => {
    const { clock, dev, link } = upLink();
    dev.startTelemetry();
    const before: string[] = [];
    link.sendCommand({ type: "move", axis: "tilt", target: 30, speed: 5 }, { onAck: (a) => before.push(a.result), onNoAck: (e) => before.push(e.code) });
    clock.advance(10);
    expect(before).toEqual(["accepted"]);
    const after: string[] = [];
    let afterId = "";
    link.onLink((e) => {
      if (e.type === "reboot") afterId = link.sendCommand({ type: "return" }, { onAck: (a) => after.push(a.result), onNoAck: (e) => after.push(e.code) });
    });
    dev.caps = fakeCaps({ boot: "b2" });
    dev.send(dev.caps);
    clock.advance(10);
    expect(before).toEqual(["accepted", "rebooted"]);
    dev.send({ type: "ack", id: afterId, result: "done" });
    expect(after).toEqual(["accepted", "done"]);
  });

  it("a reconnect to the same boot keeps the commands in flight", async () => {
    const { clock, dev, link } = upLink();
    dev.startTelemetry();
    const cmd = link.send({ type: "move", axis: "tilt", target: 30, speed: 5 });
    clock.advance(10);
    dev.send(fakeCaps());
    dev.send({ type: "ack", id: cmd.id, result: "done" });
    expect((await cmd.done).result).toBe("done");
  });
});

describe("DeviceLink timers", () => {
  it("leaves no timer behind when the answer arrives within send()", async () => {
    const { clock, dev, link } = upLink();
    // An in-process device answers within send(): the caps above, and a final ack here.
    dev.ignore = (m) => {
      if (m.type === "limits") dev.send({ type: "ack", id: m.id, result: "done" });
      return m.type === "limits";
    };
    const acks: string[] = [];
    link.sendCommand({ type: "limits", tiltMax: 30 }, { onAck: (a) => acks.push(a.result) });
    expect(acks).toEqual(["done"]);
    await link.close();
    // The device end sends no telemetry here, so every timer still pending would be the link's.
    expect(clock.pending).toBe(0);
  });
});
