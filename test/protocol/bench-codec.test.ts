// The codec benchmark's figures come from real measurements (no timing assertions here: speed targets
// are printed by `npm run bench:codec`, not tested).
import { describe, expect, it } from "vitest";
import { ACCEPTS, decodeFrame, encodeFrame } from "../../protocol/index.js";
import { realisticTlm, runCodecBench } from "../../bench/codec.js";

describe("codec bench", () => {
  it("its frames are valid telemetry and it reports consistent figures", () => {
    for (let i = 0; i < 200; i++) expect(decodeFrame(encodeFrame(realisticTlm(i)).trimEnd(), ACCEPTS.companion).ok).toBe(true);
    const r = runCodecBench({ frames: 50, minMs: 5, rounds: 1 });
    expect(r.decodeFramesPerS).toBeGreaterThan(0);
    expect(r.jsonParseFramesPerS).toBeGreaterThan(0);
    expect(r.ratio).toBeCloseTo(r.jsonParseFramesPerS / r.decodeFramesPerS, 1);
    expect(r.pass).toBe(r.decodeFramesPerS >= r.targets.minFramesPerS && r.ratio <= r.targets.maxRatio);
  });
});
