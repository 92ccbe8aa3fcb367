import { describe, expect, it } from "vitest";
import { VirtualClock, type AckMsg } from "../../protocol/index.js";
import { DeviceLink, LinkError, type LinkEvent } from "../../src/link/device-link.js";
import { FakeDevice, fakeCaps } from "./fake-device.js";

function setup(opts: ConstructorParameters<typeof DeviceLink>[2] = {}) {
  const clock = new VirtualClock();
  const dev = new FakeDevice(clock);
  const link = new DeviceLink(dev.companionSide, clock, { idPrefix: "t", ...opts });
  const events: LinkEvent[] = [];
  link.onLink((e) => events.push(e));
  return { clock, dev, link, events };
}

/** Starts the handshake and runs virtual time until it settles. */
function handshake(s: ReturnType<typeof setup>, maxMs = 10_000): { err?: LinkError; ok: boolean } {
  const out: { err?: LinkError; ok: boolean } = { ok: false };
  let settled = false;
  s.link.startHandshake((err) => {
    settled = true;
    if (err) out.err = err;
    else out.ok = true;
  });
  s.clock.runUntil(() => settled, maxMs);
  return out;
}

describe("DeviceLink handshake", () => {
  it("learns the caps and sends heartbeats at min(200 ms, watchdog/4)", () => {
    const s = setup();
    s.dev.caps = fakeCaps({ watchdogMs: 400 });
    expect(handshake(s).ok).toBe(true);
    expect(s.link.status).toBe("up");
    expect(s.link.caps?.model).toBe("fake");
    expect(s.dev.of("hello")[0].proto).toEqual([1]);
    s.dev.startTelemetry();
    const before = s.dev.of("hb").length;
    s.clock.advance(1000);
    expect(s.dev.of("hb").length - before).toBe(10); // every 100 ms = 400 / 4
  });

  it("retries hello and gives up with a clear error after the retries", () => {
    const s = setup({ handshakeTimeoutMs: 300, handshakeRetries: 2 });
    s.dev.caps = null;
    const r = handshake(s);
    expect(r.err?.code).toBe("handshake-timeout");
    expect(r.err?.message).toMatch(/no answer to hello after 3 tries/);
    expect(s.dev.of("hello")).toHaveLength(3);
    expect(s.link.status).toBe("idle");
  });

  it("refuses a device whose caps name another protocol, with its version in the message", () => {
    const s = setup();
    s.dev.caps = fakeCaps({ proto: 2, fw: "9.1" });
    const r = handshake(s);
    expect(r.err?.code).toBe("incompatible");
    expect(r.err?.message).toMatch(/speaks protocol 2/);
    expect(r.err?.message).toContain("9.1");
  });

  it("refuses a device whose frames carry another protocol version", () => {
    const s = setup({ handshakeTimeoutMs: 200, handshakeRetries: 1 });
    s.dev.ignore = (m) => {
      if (m.type === "hello") s.dev.sendRaw({ ...fakeCaps(), v: 3, seq: 0 });
      return true;
    };
    const r = handshake(s);
    expect(r.err?.code).toBe("incompatible");
    expect(r.err?.message).toMatch(/protocol 3/);
    expect(s.link.quality().drops.version).toBe(2);
  });
});

describe("DeviceLink commands", () => {
  it("retries with the same id after each ack timeout and counts lost acks, with no RTT sample", () => {
    const s = setup();
    handshake(s);
    let drops = 2;
    s.dev.ignore = (m) => m.type === "move" && drops-- > 0;
    const acks: AckMsg[] = [];
    s.link.sendCommand({ type: "move", axis: "tilt", target: 10, speed: 2 }, { onAck: (a) => acks.push(a) });
    s.clock.advance(2000);
    const moves = s.dev.of("move");
    expect(moves).toHaveLength(3);
    expect(new Set(moves.map((m) => m.id)).size).toBe(1);
    expect(new Set(moves.map((m) => m.seq)).size).toBe(3);
    expect(acks.map((a) => a.result)).toEqual(["accepted"]);
    const q = s.link.quality();
    expect(q.lostAcks).toBe(2);
    expect(q.retries).toBe(2);
    // The ack cannot be matched to one of the three sends (rtt.test.ts).
    expect(q.rttLastMs).toBeUndefined();
  });

  it("fails after 1 + 3 attempts with no ack", () => {
    const s = setup();
    handshake(s);
    s.dev.startTelemetry();
    s.dev.ignore = (m) => m.type === "stop";
    let err: LinkError | undefined;
    s.link.sendCommand({ type: "stop" }, { onNoAck: (e) => (err = e) });
    s.clock.advance(1999);
    expect(err).toBeUndefined();
    s.clock.advance(1);
    expect(err?.code).toBe("no-ack");
    expect(err?.message).toMatch(/no ack after 4 tries/);
    expect(s.dev.of("stop")).toHaveLength(4);
    expect(s.link.quality().failedCommands).toBe(1);
  });

  it("stops retrying a motion command once a newer one supersedes it", () => {
    const s = setup();
    handshake(s);
    s.dev.ignore = (m) => m.type === "stop";
    let err: LinkError | undefined;
    s.link.sendCommand({ type: "stop" }, { onNoAck: (e) => (err = e) });
    s.clock.advance(100);
    const acks: AckMsg[] = [];
    s.link.sendCommand({ type: "move", axis: "tilt", target: 5, speed: 2 }, { onAck: (a) => acks.push(a) });
    expect(err?.code).toBe("superseded");
    s.clock.advance(3000);
    // The stop went out once: a retry now would stop the move that followed it.
    expect(s.dev.of("stop")).toHaveLength(1);
    expect(acks.map((a) => a.result)).toEqual(["accepted"]);
    // A force does not supersede a move on the other axis; limits never supersede anything.
    s.dev.ignore = () => true;
    let moveErr: LinkError | undefined;
    s.link.sendCommand({ type: "move", axis: "tilt", target: 6, speed: 2 }, { onNoAck: (e) => (moveErr = e) });
    s.link.sendCommand({ type: "force", axis: "traction", target: 10, rate: 5 });
    s.link.sendCommand({ type: "limits", tiltMax: 30 });
    s.clock.advance(100);
    expect(moveErr).toBeUndefined();
  });

  it("gives each command a unique id and delivers accepted then done", async () => {
    const s = setup();
    handshake(s);
    const a = s.link.send({ type: "move", axis: "tilt", target: 10, speed: 2 });
    const b = s.link.send({ type: "force", axis: "traction", target: 100, rate: 10 });
    expect(a.id).not.toBe(b.id);
    s.clock.advance(10);
    expect((await a.accepted).result).toBe("accepted");
    s.dev.send({ type: "ack", id: a.id, result: "accepted" }); // a retry's duplicate: ignored
    s.dev.send({ type: "ack", id: a.id, result: "done" });
    expect((await a.done).result).toBe("done");
  });

  it("ignores garbage on the line, counts it, and keeps working", () => {
    const s = setup();
    handshake(s);
    s.dev.garbage("\x00\xff\xfe garbage *ZZZZ\n");
    s.dev.garbage('{"v":1,"type":"ack"}*0000\n');
    s.dev.garbage("x".repeat(700) + "\n");
    s.dev.garbage("\n\n");
    const acks: AckMsg[] = [];
    s.link.sendCommand({ type: "stop" }, { onAck: (a) => acks.push(a) });
    s.clock.advance(10);
    expect(acks).toHaveLength(1);
    const d = s.link.quality().drops;
    expect(d.format + d.crc + d.overlong).toBeGreaterThanOrEqual(3);
    expect(d.overlong).toBe(1);
  });
});

describe("DeviceLink loss and reboot", () => {
  it("declares the link lost when telemetry stops, and re-handshakes when it returns", () => {
    const s = setup();
    handshake(s);
    s.dev.startTelemetry();
    s.clock.advance(500);
    expect(s.link.quality().stale).toBe(false);
    s.dev.pipe.faults.down = true;
    s.clock.advance(400);
    expect(s.link.quality().stale).toBe(true);
    expect(s.link.status).toBe("up");
    s.clock.advance(1000);
    expect(s.link.status).toBe("lost");
    const hellos = s.dev.of("hello").length;
    s.dev.pipe.faults.down = false;
    s.clock.advance(300);
    expect(s.dev.of("hello").length).toBe(hellos + 1);
    expect(s.link.status).toBe("up");
    const restored = s.events.find((e) => e.type === "restored");
    expect(restored).toMatchObject({ type: "restored", rebooted: false });
    expect(s.link.quality().losses).toBe(1);
  });

  it("goes silent toward a device it cannot hear, so the device's watchdog fires, and speaks again after a handshake", () => {
    const s = setup({ ackTimeoutMs: 300, retries: 5 });
    handshake(s);
    s.dev.startTelemetry();
    s.clock.advance(500);
    // Only the device's direction fails: everything the companion sends still arrives.
    s.dev.stopTelemetry();
    s.dev.ignore = (m) => m.type !== "hb" && m.type !== "hello";
    s.clock.advance(900);
    let failed: LinkError | undefined;
    s.link.sendCommand({ type: "move", axis: "tilt", target: 10, speed: 2 }, { onNoAck: (e) => (failed = e) });
    s.clock.advance(400);
    expect(s.link.status).toBe("lost");
    const heard = s.dev.received.length;
    // Neither heartbeats nor the retries of the unanswered command reach it once the link is lost, for
    // longer than its watchdog period.
    s.clock.advance(5 * s.link.caps!.watchdogMs);
    expect(s.dev.received.length).toBe(heard);
    expect(s.dev.of("move")).toHaveLength(1);
    expect(failed?.message).toMatch(/link lost/);
    // Heard again: a handshake first, then heartbeats resume.
    s.dev.ignore = () => false;
    s.dev.startTelemetry();
    s.clock.advance(500);
    expect(s.link.status).toBe("up");
    const hb = s.dev.of("hb").length;
    s.clock.advance(1000);
    expect(s.dev.of("hb").length - hb).toBe(5);
  });

  it("detects a reboot by the new boot id", () => {
    const s = setup();
    handshake(s);
    s.dev.startTelemetry();
    s.dev.pipe.faults.down = true;
    s.clock.advance(1500);
    s.dev.caps = fakeCaps({ boot: "b2" });
    s.dev.pipe.faults.down = false;
    s.clock.advance(300);
    expect(s.events.some((e) => e.type === "reboot" && e.previousBoot === "b1")).toBe(true);
    expect(s.events.find((e) => e.type === "restored")).toMatchObject({ rebooted: true });
  });

  it("fails pending commands when the transport closes", async () => {
    const s = setup();
    handshake(s);
    s.dev.ignore = () => true;
    const p = s.link.command({ type: "return" });
    await s.dev.pipe.b.close();
    await expect(p).rejects.toThrow(/closed/);
    expect(s.link.status).toBe("closed");
  });
});
