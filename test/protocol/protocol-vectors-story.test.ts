// The section 12 vectors are one exchange, read in order by firmware engineers checking their own
// implementation: they must not contradict each other or the rules the document states. And section 1's
// rule for a repeated member name must be what the reference decoder does.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crc16, crcHex, decodeFrame, faultSpec, type AnyMsg, type CapsMsg, type LimitsMsg } from "../../protocol/index.js";
import { REPO_ROOT } from "../../protocol/gen/generate.js";

const DOC = readFileSync(join(REPO_ROOT, "protocol/PROTOCOL.md"), "utf8");

function vectors(): AnyMsg[] {
  const block = /^```frames\n([\s\S]*?)^```/m.exec(DOC)?.[1] ?? "";
  return block
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => {
      const r = decodeFrame(l);
      if (!r.ok) throw new Error(`${l}: ${r.detail}`);
      return r.msg;
    });
}

describe("PROTOCOL.md section 12 as one exchange", () => {
  const msgs = vectors();

  it("telemetry stays inside the hard limits of the caps and the soft limits the exchange set before it", () => {
    let caps: CapsMsg | undefined;
    let soft: LimitsMsg | undefined;
    for (const m of msgs) {
      if (m.type === "caps") caps = m;
      if (m.type === "limits") soft = m;
      if (m.type !== "tlm") continue;
      const tilt = caps?.axes.tilt;
      expect(tilt, "caps come before telemetry").toBeDefined();
      const lo = Math.max(tilt!.min, soft?.tiltMin ?? -Infinity);
      const hi = Math.min(tilt!.max, soft?.tiltMax ?? Infinity);
      expect(m.tilt, `tlm seq ${m.seq}`).toBeGreaterThanOrEqual(lo);
      expect(m.tilt, `tlm seq ${m.seq}`).toBeLessThanOrEqual(hi);
      // The descend phase exists only head-down (9.3), at no more than returnSpeed.
      if (m.ret === "descend") expect(m.tilt).toBeGreaterThan(0);
      if (m.mode === "returning") expect(Math.abs(m.vel)).toBeLessThanOrEqual(Math.min(tilt!.returnSpeed, soft?.speedMax ?? Infinity));
    }
  });

  it("events carry the severity of the fault table and telemetry lists only latched codes", () => {
    for (const m of msgs) {
      if (m.type === "evt") expect(m.severity, m.code).toBe(faultSpec(m.code)?.severity);
      if (m.type === "tlm") for (const c of m.faults) expect(faultSpec(c)?.latched, c).toBe(true);
    }
  });

  it("telemetry time never runs backwards", () => {
    const ts = msgs.flatMap((m) => (m.type === "tlm" ? [m.t] : []));
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
  });
});

describe("a repeated member name (section 1)", () => {
  const frame = (payload: string): string => `${payload}*${crcHex(crc16(Buffer.from(payload, "utf8")))}`;

  it("the last occurrence counts, whether it makes the frame valid or invalid", () => {
    const inRange = decodeFrame(frame('{"v":1,"seq":1,"type":"move","id":"m","axis":"tilt","target":200,"speed":2,"target":20}'));
    expect(inRange.ok && inRange.msg).toMatchObject({ type: "move", target: 20 });
    const outOfRange = decodeFrame(frame('{"v":1,"seq":1,"type":"move","id":"m","axis":"tilt","target":20,"speed":2,"target":200}'));
    expect(outOfRange.ok ? "ok" : outOfRange.reason).toBe("schema");
    const retyped = decodeFrame(frame('{"v":1,"seq":1,"type":"hb","type":"stop","id":"s"}'));
    expect(retyped.ok && retyped.msg).toEqual({ v: 1, seq: 1, type: "stop", id: "s" });
  });
});
