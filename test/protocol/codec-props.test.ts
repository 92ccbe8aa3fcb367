// Property tests of the codec and the byte-level reader: round trips for every message type, every
// single-byte corruption rejected, arbitrary input never throws, never yields a message, never grows memory.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ACCEPTS,
  DROP_REASONS,
  FrameReader,
  LineSplitter,
  MAX_LINE_BYTES,
  crc16,
  crcHex,
  decodeFrame,
  decodeJson,
  encodeFrame,
  encodeJson,
  type AnyMsg,
  type DropReason,
} from "../../protocol/index.js";
import { ARBS, anyMessage } from "./arbitraries.js";

function roleFor(m: AnyMsg): "device" | "companion" {
  return ACCEPTS.device.has(m.type) ? "device" : "companion";
}

function readAll(chunks: Uint8Array[], accept?: ReadonlySet<AnyMsg["type"]>) {
  const got: AnyMsg[] = [];
  const reader = new FrameReader((m) => got.push(m), undefined, accept);
  let maxPending = 0;
  for (const c of chunks) {
    reader.push(c);
    maxPending = Math.max(maxPending, reader.pendingBytes);
  }
  return { got, reader, maxPending };
}

/** Splits `bytes` at the given sorted cut points. */
function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points.map((x) => x % (bytes.length + 1))].sort((a, b) => a - b)) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

describe("encode -> decode round trip", () => {
  for (const [type, arb] of Object.entries(ARBS)) {
    it(`${type}: serial frame and MQTT JSON give back the same message`, () => {
      fc.assert(
        fc.property(arb as fc.Arbitrary<AnyMsg>, (msg) => {
          const frame = encodeFrame(msg);
          expect(frame.endsWith("\n")).toBe(true);
          const r = decodeFrame(frame.slice(0, -1), ACCEPTS[roleFor(msg)]);
          if (!r.ok) throw new Error(`${r.reason}: ${r.detail} for ${frame}`);
          expect(r.msg).toEqual(msg);
          const j = decodeJson(encodeJson(msg), ACCEPTS[roleFor(msg)]);
          expect(j.ok && j.msg).toEqual(msg);
        }),
        { numRuns: 300 },
      );
    });
  }

  it("through the byte reader in arbitrary chunks, with \\r\\n or \\n, every frame that fits the line bound arrives once, in order", () => {
    fc.assert(
      fc.property(fc.array(anyMessage, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (msgs, points, crlf) => {
        const text = msgs.map((m) => (crlf ? encodeFrame(m).replace(/\n$/, "\r\n") : encodeFrame(m))).join("");
        const { got, reader, maxPending } = readAll(cut(Buffer.from(text, "utf8"), points));
        const fits = msgs.filter((m) => Buffer.byteLength(encodeFrame(m)) + (crlf ? 1 : 0) <= MAX_LINE_BYTES);
        expect(got).toEqual(fits);
        expect(reader.drops.overlong).toBe(msgs.length - fits.length);
        expect(maxPending).toBeLessThanOrEqual(MAX_LINE_BYTES - 1);
      }),
      { numRuns: 300 },
    );
  });

  it("a receiver drops the other side's message types as 'type'", () => {
    fc.assert(
      fc.property(anyMessage, (msg) => {
        const other = roleFor(msg) === "device" ? "companion" : "device";
        const r = decodeFrame(encodeFrame(msg).slice(0, -1), ACCEPTS[other]);
        expect(r.ok ? "ok" : r.reason).toBe("type");
      }),
    );
  });
});

describe("caps a companion cannot supervise", () => {
  it("telemetry slower than 1 Hz is a schema drop (section 8), 1 Hz is accepted", () => {
    const caps = (tlmHz: number) => ({ v: 1, seq: 0, type: "caps", model: "m", serial: "s", fw: "1", proto: 1, axes: {}, watchdogMs: 1000, tlmHz, boot: "b" });
    const at = (tlmHz: number) => {
      const r = decodeFrame(encodeFrame(caps(tlmHz) as unknown as AnyMsg).slice(0, -1), ACCEPTS.companion);
      return r.ok ? "ok" : r.reason;
    };
    expect(at(0.5)).toBe("schema");
    expect(at(1)).toBe("ok");
  });
});

describe("single-byte corruption", () => {
  const small = anyMessage.filter((m) => Buffer.byteLength(encodeFrame(m)) <= 200);

  function assertRejected(line: Buffer, original: Buffer): void {
    // Directly, and through the reader (a corrupted byte may be '\n' and split the line in two).
    const r = decodeFrame(line);
    if (r.ok) throw new Error(`corruption accepted: ${JSON.stringify(line.toString("latin1"))} (from ${original.toString("latin1")})`);
    const { got } = readAll([line, Buffer.from("\n")]);
    expect(got).toEqual([]);
  }

  it("every bit flip at every position of a frame is rejected", () => {
    fc.assert(
      fc.property(small, (msg) => {
        const line = Buffer.from(encodeFrame(msg).slice(0, -1), "utf8");
        for (let i = 0; i < line.length; i++) {
          for (let b = 0; b < 8; b++) {
            const bad = Buffer.from(line);
            bad[i] ^= 1 << b;
            assertRejected(bad, line);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("every other byte value at every position is rejected (including digit -> digit and hex case changes)", () => {
    fc.assert(
      fc.property(small, (msg) => {
        const line = Buffer.from(encodeFrame(msg).slice(0, -1), "utf8");
        for (let i = 0; i < line.length; i++) {
          for (let v = 0; v < 256; v++) {
            if (v === line[i]) continue;
            const bad = Buffer.from(line);
            bad[i] = v;
            const r = decodeFrame(bad);
            if (r.ok) throw new Error(`byte ${i} -> ${v} accepted in ${line.toString("latin1")}`);
          }
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe("arbitrary bytes", () => {
  it("random bytes in random chunks never throw, never yield a message, and keep at most 511 bytes pending", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 20 }), (chunks) => {
        const { got, maxPending } = readAll(chunks);
        expect(got).toEqual([]);
        expect(maxPending).toBeLessThanOrEqual(MAX_LINE_BYTES - 1);
      }),
      { numRuns: 300 },
    );
  });

  it("NULs, invalid UTF-8, stray '*' and CR bytes never yield a message", () => {
    const nasty = fc.array(fc.constantFrom(0x00, 0x0a, 0x0d, 0x2a, 0x7b, 0x7d, 0x22, 0xc0, 0xc1, 0xf5, 0xff, 0x80, 0xbf, 0xed, 0xa0), { maxLength: 3000 });
    fc.assert(
      fc.property(nasty, fc.array(fc.nat(), { maxLength: 5 }), (bytes, points) => {
        const { got, maxPending } = readAll(cut(Uint8Array.from(bytes), points));
        expect(got).toEqual([]);
        expect(maxPending).toBeLessThanOrEqual(MAX_LINE_BYTES - 1);
      }),
    );
  });

  it("a frame whose payload is invalid UTF-8 is dropped as format even with a correct CRC", () => {
    const payload = Buffer.concat([Buffer.from('{"v":1,"seq":0,"type":"evt","code":"BOOT","severity":"info","msg":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const line = Buffer.concat([payload, Buffer.from(`*${crcHex(crc16(payload))}`)]);
    const r = decodeFrame(line);
    expect(r.ok ? "ok" : r.reason).toBe("format");
  });

  it("a valid frame split at every position arrives exactly once; a truncated one never does", () => {
    const frame = Buffer.from(encodeFrame({ v: 1, seq: 9, type: "ack", id: "c-1", result: "done" }), "utf8");
    for (let i = 0; i <= frame.length; i++) {
      const { got } = readAll([frame.subarray(0, i), frame.subarray(i)]);
      expect(got).toHaveLength(1);
      if (i < frame.length - 1) {
        // The prefix alone, then a newline: an incomplete frame is never a message.
        const partial = readAll([frame.subarray(0, i), Buffer.from("\n")]);
        expect(partial.got).toEqual([]);
      }
    }
  });

  it("100 kB lines are discarded without buffering, and the next frame still arrives", () => {
    fc.assert(
      fc.property(fc.integer({ min: 512, max: 100_000 }), fc.integer({ min: 1, max: 4096 }), (len, chunk) => {
        const big = Buffer.alloc(len, 0x41);
        const good = Buffer.from(encodeFrame({ v: 1, seq: 1, type: "hb" }), "utf8");
        const all = Buffer.concat([big, Buffer.from("\n"), good]);
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < all.length; i += chunk) chunks.push(all.subarray(i, i + chunk));
        const { got, reader, maxPending } = readAll(chunks);
        expect(got).toEqual([{ v: 1, seq: 1, type: "hb" }]);
        expect(reader.drops.overlong).toBe(1);
        expect(maxPending).toBeLessThanOrEqual(MAX_LINE_BYTES - 1);
      }),
      { numRuns: 50 },
    );
  });

  it("the line bound is exact: 511 bytes plus '\\n' is a line, 512 plus '\\n' is overlong", () => {
    const lines: number[] = [];
    const s = new LineSplitter((l) => lines.push(l.length));
    s.push(Buffer.concat([Buffer.alloc(511, 0x41), Buffer.from("\n"), Buffer.alloc(512, 0x41), Buffer.from("\n")]));
    expect(lines).toEqual([511]);
    expect(s.overlong).toBe(1);
  });
});

describe("FrameReader drop counters", () => {
  it("count each drop reason separately and deliver only the valid frame", () => {
    const withCrc = (p: string) => `${p}*${crcHex(crc16(Buffer.from(p, "utf8")))}\n`;
    const cases: [DropReason, string][] = [
      ["overlong", "A".repeat(600) + "\n"],
      ["format", '{"v":1,"seq":0,"type":"hb"}\n'],
      ["crc", '{"v":1,"seq":0,"type":"hb"}*0000\n'],
      ["json", withCrc('{"v":1,"seq":0,')],
      ["version", withCrc('{"v":7,"seq":0,"type":"hb"}')],
      ["type", withCrc('{"v":1,"seq":0,"type":"tlm"}')],
      ["schema", withCrc('{"v":1,"seq":0,"type":"move","id":"m","axis":"tilt","target":500,"speed":1}')],
    ];
    expect(cases.map(([r]) => r).sort()).toEqual([...DROP_REASONS].sort());
    const dropped: DropReason[] = [];
    const got: AnyMsg[] = [];
    const reader = new FrameReader((m) => got.push(m), (r) => dropped.push(r), ACCEPTS.device);
    for (const [reason, text] of cases) {
      const before = { ...reader.drops };
      reader.push(Buffer.from(text, "utf8"));
      expect(reader.drops[reason], reason).toBe(before[reason] + 1);
    }
    reader.push(Buffer.from(encodeFrame({ v: 1, seq: 1, type: "hb" })));
    expect(dropped).toEqual(cases.map(([r]) => r));
    expect(reader.dropped).toBe(cases.length);
    expect(got).toEqual([{ v: 1, seq: 1, type: "hb" }]);
    expect(reader.frames).toBe(1);
  });
});
