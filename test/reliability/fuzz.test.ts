// A slice of the fuzzer (bench/fuzz.ts runs a million inputs): mutated and random frames through the
// frame reader, commands through the device-side MQTT handler, requests through the bridge decoder.
import { describe, expect, it } from "vitest";
import { formatFuzz, mutate, runFuzz } from "../../bench/fuzz.js";
import { crc16String, crcHex, decodeFrame, encodeFrame, mulberry32, type AnyMsg } from "../../protocol/index.js";

describe("fuzzing slice", () => {
  it("30,000 inputs: no crash, no corrupt frame accepted, refusals stay one line", () => {
    const r = runFuzz({ inputs: 30_000, seed: 7 });
    expect(r.findings, formatFuzz(r)).toEqual([]);
    expect(r.inputs).toBe(30_000);
    // The oracles must have had something to judge: accepted frames, drops of every main kind.
    expect(r.frames.intact).toBeGreaterThan(100);
    expect(r.frames.collisions).toBe(0);
    for (const k of ["crc", "format", "json", "schema", "overlong"]) expect(r.frames.dropped[k], k).toBeGreaterThan(0);
    expect(r.mqttDevice.accepted).toBeGreaterThan(0);
    expect(r.mqttDevice.dropped).toBeGreaterThan(0);
    expect(r.bridge.valid).toBeGreaterThan(0);
  });

  it("the mutator changes frames, and a changed payload is rejected unless its CRC was recomputed", () => {
    const msg: AnyMsg = { v: 1, seq: 3, type: "move", id: "c-1", axis: "tilt", target: 20, speed: 4 };
    const src = Buffer.from(encodeFrame(msg).slice(0, -1));
    const rng = mulberry32(3);
    let changed = 0;
    for (let i = 0; i < 2000; i++) {
      const m = mutate(rng, src, [src]);
      if (m.equals(src)) continue;
      changed++;
      const d = decodeFrame(m);
      if (!d.ok) continue;
      // Accepted after a change: only possible with a CRC that matches the (edited) payload.
      const s = m.toString("latin1").replace(/\r$/, "");
      const star = s.lastIndexOf("*");
      expect(crcHex(crc16String(s.slice(0, star)))).toBe(s.slice(star + 1));
    }
    expect(changed).toBeGreaterThan(1900);
  });
});
