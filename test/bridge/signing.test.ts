import { describe, expect, it } from "vitest";
import { canonicalForm, canonicalJson, CommandVerifier, parseKey, signCommand } from "../../src/bridge/signing.js";

const KEY = parseKey("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
const OTHER = parseKey("base64:" + Buffer.alloc(32, 7).toString("base64"));
const T0 = 1_800_000_000_000;

function setup() {
  const clock = { t: T0, now() { return this.t; } };
  const v = new CommandVerifier({ clock });
  return { clock, v };
}

describe("canonical form", () => {
  it("sorts keys at every depth and drops sig and undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" }, u: undefined })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalForm("t1", "start", { sig: "ff", program: "beginner", ts: 5, nonce: "abcdefgh" })).toBe(
      'invert-cmd-v1\nt1\nstart\n{"nonce":"abcdefgh","program":"beginner","ts":5}',
    );
  });
  it("matches an independently computed HMAC", async () => {
    const { createHmac } = await import("node:crypto");
    const signed = signCommand({ program: "beginner" }, KEY, T0, { deviceId: "t1", action: "start" }, "nonce-0001");
    const text = `invert-cmd-v1\nt1\nstart\n{"nonce":"nonce-0001","program":"beginner","ts":${T0}}`;
    expect(signed.sig).toBe(createHmac("sha256", KEY).update(text).digest("hex"));
  });
});

describe("CommandVerifier", () => {
  it("accepts a fresh signed command once, then refuses the replay", () => {
    const { v } = setup();
    const p = signCommand({ program: "beginner", transaction: "a" }, KEY, T0, { deviceId: "t1", action: "start" });
    expect(v.verify("t1", "start", p, KEY)).toEqual({ ok: true });
    const again = v.verify("t1", "start", p, KEY);
    expect(again).toMatchObject({ ok: false, code: "replayed" });
  });

  it("refuses a command signed before the verifier's process started, even inside the age window", () => {
    const clock = { now: () => T0 + 5_000 };
    const v = new CommandVerifier({ clock, notBefore: T0 });
    // Captured and replayed across a restart: its nonce was remembered only by the previous process.
    const old = signCommand({ program: "beginner" }, KEY, T0 - 1_000, { deviceId: "t1", action: "start" });
    expect(v.verify("t1", "start", old, KEY)).toMatchObject({ ok: false, code: "before-start", reason: expect.stringMatching(/before this bridge started/) });
    expect(v.verify("t1", "start", signCommand({ program: "beginner" }, KEY, T0 + 4_000, { deviceId: "t1", action: "start" }), KEY)).toEqual({ ok: true });
  });

  it("refuses unsigned, missing key, malformed, wrong key, tampered, other device or action", () => {
    const { v } = setup();
    expect(v.verify("t1", "start", { program: "beginner" }, KEY)).toMatchObject({ ok: false, code: "unsigned" });
    const p = signCommand({ program: "beginner" }, KEY, T0, { deviceId: "t1", action: "start" });
    expect(v.verify("t1", "start", p, undefined)).toMatchObject({ ok: false, code: "unsigned" });
    expect(v.verify("t1", "start", { ...p, sig: "zz" }, KEY)).toMatchObject({ ok: false, code: "malformed" });
    expect(v.verify("t1", "start", { ...p, nonce: "short" }, KEY)).toMatchObject({ ok: false, code: "malformed" });
    expect(v.verify("t1", "start", { ...p, ts: "now" }, KEY)).toMatchObject({ ok: false, code: "malformed" });
    expect(v.verify("t1", "start", p, OTHER)).toMatchObject({ ok: false, code: "bad-signature" });
    expect(v.verify("t1", "start", { ...p, program: "oscillation-60" }, KEY)).toMatchObject({ ok: false, code: "bad-signature" });
    expect(v.verify("t2", "start", p, KEY)).toMatchObject({ ok: false, code: "bad-signature" });
    expect(v.verify("t1", "resume", p, KEY)).toMatchObject({ ok: false, code: "bad-signature" });
    // None of the refusals consumed the nonce: the genuine command still goes through.
    expect(v.verify("t1", "start", p, KEY)).toEqual({ ok: true });
  });

  it("refuses stale and future timestamps at the window edges", () => {
    const { v, clock } = setup();
    const at = (ts: number) => signCommand({}, KEY, ts, { deviceId: "t1", action: "resume" });
    expect(v.verify("t1", "resume", at(T0 - 60_000), KEY)).toEqual({ ok: true });
    const stale = v.verify("t1", "resume", at(T0 - 60_001), KEY);
    expect(stale).toMatchObject({ ok: false, code: "stale" });
    expect(v.verify("t1", "resume", at(T0 + 30_000), KEY)).toEqual({ ok: true });
    expect(v.verify("t1", "resume", at(T0 + 30_001), KEY)).toMatchObject({ ok: false, code: "future" });
    // A command delayed in transit past the window is refused even though it was never seen.
    const p = at(T0);
    clock.t = T0 + 61_000;
    expect(v.verify("t1", "resume", p, KEY)).toMatchObject({ ok: false, code: "stale" });
  });

  it("forgets nonces once they are outside the window, and a replay then is stale", () => {
    const { v, clock } = setup();
    for (let i = 0; i < 50; i++) {
      clock.t = T0 + i * 1000;
      expect(v.verify("t1", "start", signCommand({}, KEY, clock.t, { deviceId: "t1", action: "start" }), KEY).ok).toBe(true);
    }
    const old = signCommand({}, KEY, T0 + 49_000, { deviceId: "t1", action: "start" }, "replay-me-1");
    expect(v.verify("t1", "start", old, KEY).ok).toBe(true);
    clock.t = T0 + 49_000 + 200_000;
    expect(v.verify("t1", "start", old, KEY)).toMatchObject({ ok: false, code: "stale" });
    expect(v.rememberedNonces).toBe(0);
  });

  it("is bounded by maxNonces", () => {
    const clock = { now: () => T0 };
    const v = new CommandVerifier({ clock, maxNonces: 3 });
    for (let i = 0; i < 3; i++) expect(v.verify("t1", "start", signCommand({}, KEY, T0, { deviceId: "t1", action: "start" }), KEY).ok).toBe(true);
    expect(v.verify("t1", "start", signCommand({}, KEY, T0, { deviceId: "t1", action: "start" }), KEY)).toMatchObject({ code: "overloaded" });
  });
});

describe("parseKey", () => {
  it("reads hex, base64 and prefixed forms, refuses short or garbage keys", () => {
    expect(parseKey("hex:" + "ab".repeat(16))).toEqual(Buffer.alloc(16, 0xab));
    expect(parseKey(Buffer.alloc(20, 1).toString("base64"))).toEqual(Buffer.alloc(20, 1));
    expect(() => parseKey("abcd")).toThrow(/at least 16 bytes/);
    expect(() => parseKey("hex:xyz")).toThrow(/hex/);
    expect(() => parseKey("not a key!!")).toThrow(/hex or base64/);
  });
});
