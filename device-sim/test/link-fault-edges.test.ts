// Edge cases of the simulated link faults on a wrapped transport (serial, MQTT): overlapping outages from
// a fault plan with several --drop-link entries, frames in flight when an outage starts, and a corrupted
// byte that turns into a line break. Virtual time only.
import { describe, expect, it } from "vitest";
import { FrameReader, encodeFrame, mulberry32, type AnyMsg, type DropReason, type Rng } from "../../protocol/index.js";
import { faultyOverLoopback } from "./loopback.js";

const hb = (seq: number): AnyMsg => ({ v: 1, seq, type: "hb" });

describe("FaultyTransport outages", () => {
  it("a shorter outage inside a longer one does not end the longer one early", () => {
    const { clock, inner, t } = faultyOverLoopback(mulberry32(1));
    const got: AnyMsg[] = [];
    t.setHandlers({ onMessage: (m) => got.push(m) });
    // --drop-link 0:10 --drop-link 2:1: the link is down from 0 s to 10 s.
    t.dropFor(10_000);
    clock.advance(2000);
    t.dropFor(1000);
    clock.advance(2000);
    inner.h.onMessage(hb(1));
    t.send(hb(2));
    expect(got).toEqual([]);
    expect(inner.sent).toEqual([]);
    expect(t.faults.down).toBe(true);
    clock.advance(6000);
    expect(t.faults.down).toBe(false);
    inner.h.onMessage(hb(3));
    expect(got).toEqual([hb(3)]);
  });

  it("a frame sent before an outage but due during it is lost, as on the in-process link", () => {
    const { clock, inner, t } = faultyOverLoopback(mulberry32(1));
    t.faults.latencyMs = 100;
    t.send(hb(1));
    clock.advance(50);
    t.dropFor(1000);
    clock.advance(100);
    expect(inner.sent).toEqual([]);
    clock.advance(2000);
    expect(inner.sent).toEqual([]);
  });
});

describe("FaultyTransport corruption", () => {
  /** Replays the rng to corrupt exactly the byte at `at` of the frame into `value`. */
  function rngHitting(frameLen: number, at: number, value: number): Rng {
    const script: number[] = [];
    for (let i = 0; i < frameLen - 1; i++) {
      if (i === at) script.push(0, value / 256 + 1e-9);
      else script.push(0.999);
    }
    let i = 0;
    return () => script[i++] ?? 0.999;
  }

  it("a byte corrupted into a line break gives the drops a receiver on a wire counts, reported through onDrop", () => {
    const msg: AnyMsg = { v: 1, seq: 3, type: "move", id: "m-1", axis: "tilt", target: 10, speed: 2 };
    const frame = Buffer.from(encodeFrame(msg), "utf8");
    for (const at of [0, 10, frame.length - 3, frame.length - 2]) {
      const { clock, inner, t } = faultyOverLoopback(rngHitting(frame.length, at, 0x0a));
      const reported: DropReason[] = [];
      t.setHandlers({ onMessage: () => {}, onDrop: (r) => reported.push(r) });
      t.faults.corruptRate = 0.5;
      inner.h.onMessage(msg);

      const wire: DropReason[] = [];
      const bad = Buffer.from(frame);
      bad[at] = 0x0a;
      const reader = new FrameReader(() => {}, (r) => wire.push(r));
      reader.push(bad);

      expect(reported, `line break at byte ${at}`).toEqual(wire);
      const counted = Object.values(t.stats.drops).reduce((a, b) => a + b, 0);
      expect(counted, `line break at byte ${at}`).toBe(wire.length);
    }
  });
});
