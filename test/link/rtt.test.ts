// Round-trip samples follow Karn's algorithm: only a command acked on its first send is timed, because
// a retry carries the same id and its ack cannot be matched to one send.
import { describe, expect, it } from "vitest";
import { ACK_TIMEOUT_MS, VirtualClock, type AckMsg } from "../../protocol/index.js";
import { DeviceLink, type CommandBody } from "../../src/link/device-link.js";
import { FakeDevice } from "./fake-device.js";

/** A link that is up, with telemetry flowing so that long waits for acks do not read as a lost link. */
function upLink(oneWayMs: number) {
  const clock = new VirtualClock();
  const dev = new FakeDevice(clock);
  dev.pipe.faults.latencyMs = oneWayMs;
  const link = new DeviceLink(dev.companionSide, clock, { idPrefix: "t" });
  let up = false;
  link.startHandshake((err) => {
    if (err) throw err;
    up = true;
  });
  clock.runUntil(() => up, 5000);
  expect(up).toBe(true);
  dev.startTelemetry();
  return { clock, dev, link };
}

/** Sends one command and runs virtual time until its first ack; returns every ack seen by `settleMs`. */
function sendAndSettle(s: ReturnType<typeof upLink>, body: CommandBody, settleMs = 2000): AckMsg[] {
  const acks: AckMsg[] = [];
  s.link.sendCommand(body, { onAck: (a) => acks.push(a) });
  s.clock.advance(settleMs);
  return acks;
}

describe("DeviceLink round-trip time", () => {
  it("times a command acked on its first send exactly", () => {
    const s = upLink(20);
    expect(sendAndSettle(s, { type: "stop" }).map((a) => a.result)).toEqual(["accepted"]);
    expect(s.link.quality()).toMatchObject({ rttLastMs: 40, rttAvgMs: 40, retries: 0, lostAcks: 0 });
    s.dev.pipe.faults.latencyMs = 35;
    sendAndSettle(s, { type: "limits", tiltMax: 30 });
    expect(s.link.quality()).toMatchObject({ rttLastMs: 70, rttAvgMs: 55, retries: 0, lostAcks: 0 });
  });

  it("takes no sample from a command whose first send was lost and whose retry was acked", () => {
    const s = upLink(20);
    let drops = 1;
    s.dev.ignore = (m) => m.type === "stop" && drops-- > 0;
    expect(sendAndSettle(s, { type: "stop" }).map((a) => a.result)).toEqual(["accepted"]);
    expect(s.dev.of("stop")).toHaveLength(2);
    expect(s.link.quality()).toMatchObject({ rttLastMs: undefined, rttAvgMs: undefined, retries: 1, lostAcks: 1, failedCommands: 0 });
    // The next clean command is the first sample, unmixed with the retried one.
    s.dev.pipe.faults.latencyMs = 35;
    sendAndSettle(s, { type: "stop" });
    expect(s.link.quality()).toMatchObject({ rttLastMs: 70, rttAvgMs: 70, retries: 1, lostAcks: 1 });
  });

  it("takes no sample when the first send's ack comes back only after the retry went out", () => {
    const s = upLink(10);
    sendAndSettle(s, { type: "stop" });
    expect(s.link.quality()).toMatchObject({ rttLastMs: 20, rttAvgMs: 20 });
    // A round trip of 600 ms outlasts the ack timeout: the retry leaves at 500 ms and the first send's
    // ack lands 100 ms after it, which timed from the retry would read as a 100 ms round trip.
    s.dev.pipe.faults.latencyMs = 300;
    expect(2 * 300).toBeGreaterThan(ACK_TIMEOUT_MS);
    const acks = sendAndSettle(s, { type: "stop" });
    expect(acks.map((a) => a.result)).toEqual(["accepted"]);
    expect(s.dev.of("stop")).toHaveLength(3); // the first command once, this one twice
    expect(s.link.quality()).toMatchObject({ rttLastMs: 20, rttAvgMs: 20, retries: 1, lostAcks: 1, failedCommands: 0 });
  });
});
