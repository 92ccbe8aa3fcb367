// PROTOCOL.md is the contract a firmware engineer implements from, so its test vectors and its fault
// table are checked against independent code and against protocol/faults.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ACCEPTS, DROP_REASONS, FAULTS, decodeFrame, type MsgType } from "../../protocol/index.js";
import { REPO_ROOT } from "../../protocol/gen/generate.js";

const DOC = readFileSync(join(REPO_ROOT, "protocol/PROTOCOL.md"), "utf8");

/** Bitwise CRC-16/CCITT-FALSE, written from the parameters alone (deliberately not protocol/crc16.ts). */
function crcBitwise(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const inBit = (byte >> bit) & 1;
      const top = (crc >> 15) & 1;
      crc = (crc << 1) & 0xffff;
      if (top ^ inBit) crc ^= 0x1021;
    }
  }
  return crc;
}

function fencedBlock(info: string): string[] {
  const m = new RegExp("^```" + info + "\\n([\\s\\S]*?)^```", "m").exec(DOC);
  if (!m) throw new Error(`PROTOCOL.md has no \`\`\`${info} block`);
  return m[1].split("\n").filter((l) => l.length > 0);
}

describe("PROTOCOL.md test vectors", () => {
  const frames = fencedBlock("frames");

  it("the independent CRC matches the standard check value", () => {
    expect(crcBitwise(Buffer.from("123456789", "ascii"))).toBe(0x29b1);
    expect(DOC).toContain("0x29B1");
  });

  it("has at least 10 vectors, each with a correct CRC by the independent implementation", () => {
    expect(frames.length).toBeGreaterThanOrEqual(10);
    for (const line of frames) {
      const m = /^(.*)\*([0-9A-F]{4})$/.exec(line);
      expect(m, line).not.toBeNull();
      const [, payload, hex] = m!;
      expect(crcBitwise(Buffer.from(payload, "utf8")).toString(16).toUpperCase().padStart(4, "0"), line).toBe(hex);
    }
  });

  it("every vector decodes with the reference codec on the receiving side, and every type in each direction appears", () => {
    const seen = new Set<MsgType>();
    for (const line of frames) {
      const r = decodeFrame(line);
      if (!r.ok) throw new Error(`${line}: ${r.detail}`);
      // The receiving role must accept it too (a device-bound message at a device, and the other way).
      const role = ACCEPTS.device.has(r.msg.type) ? "device" : "companion";
      expect(decodeFrame(line, ACCEPTS[role]).ok).toBe(true);
      // Re-encoding is byte-identical: the vectors are canonical output of the encoder.
      expect(JSON.stringify(r.msg)).toBe(line.slice(0, -5));
      seen.add(r.msg.type);
    }
    expect([...seen].sort()).toEqual([...ACCEPTS.device, ...ACCEPTS.companion].sort());
  });

  it("every invalid vector is dropped with the counter the document names", () => {
    const bad = fencedBlock("frames-invalid");
    expect(bad.length).toBeGreaterThanOrEqual(5);
    for (const line of bad) {
      const sp = line.indexOf(" ");
      const reason = line.slice(0, sp);
      expect(DROP_REASONS).toContain(reason);
      const r = decodeFrame(line.slice(sp + 1));
      expect(r.ok, line).toBe(false);
      if (!r.ok) expect(r.reason, line).toBe(reason);
    }
  });
});

describe("PROTOCOL.md fault table", () => {
  it("lists exactly the codes of protocol/faults.ts with the same number, severity, latching, reaction and clear condition", () => {
    const rows = DOC.split("\n")
      .filter((l) => /^\| `[A-Z0-9_]+` \|/.test(l))
      .map((l) =>
        l
          .slice(1, -1)
          .split(/(?<!\\)\|/)
          .map((c) => c.trim().replace(/\\\|/g, "|")),
      );
    const table = Object.fromEntries(rows.map(([code, num, severity, latched, reaction, clearWhen]) => [code.replace(/`/g, ""), { num: Number(num), severity, latched: latched === "yes", reaction, clearWhen }]));
    expect(table).toEqual(FAULTS);
  });

  it("documents every drop counter", () => {
    for (const r of DROP_REASONS) expect(DOC).toContain(`| \`${r}\` |`);
  });
});
