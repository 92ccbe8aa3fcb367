// Fuzzing of everything that parses bytes from outside: the serial frame reader (CRC framing, line
// splitter, JSON, schemas), the device-side MQTT transport's handling of published commands, and the
// bridge's request decoding and validation. Inputs are mutations of valid frames (bit flips, byte
// edits, insertions, deletions, truncation, splices, CR/LF games) and random bytes, fed in random chunks.
//
// Oracles: nothing throws; every frame the reader accepts carries a CRC that matches its payload, and
// decodes to a message that re-encodes to the very same line (so a mutation was only ever accepted when
// it left the frame intact, or produced another frame whose CRC is legitimately right, which is then
// counted as a CRC-16 collision and reported, not hidden).
//
//   npm run fuzz -- --inputs 1000000 [--seed 1] [--json]
import { EventEmitter } from "node:events";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import {
  ACCEPTS,
  FrameReader,
  MAX_LINE_BYTES,
  crc16String,
  crcHex,
  encodeFrame,
  encodeJson,
  mulberry32,
  validate,
  type AnyMsg,
  type Rng,
} from "../protocol/index.js";
import { MqttTransport } from "../protocol/transport/mqtt.js";
import { topic } from "../protocol/mqtt-topics.js";
import { decodePayload, validateAction } from "../src/bridge/requests.js";
import { REQUEST_ACTIONS } from "../src/bridge/topics.js";
import { anyMessage } from "../test/protocol/arbitraries.js";

export interface FuzzFinding {
  target: "frames" | "mqtt-device" | "bridge";
  kind: "crash" | "corrupt-accepted" | "unclear-refusal";
  detail: string;
  /** The input, hex-encoded (short inputs only). */
  input: string;
}

export interface FuzzReport {
  inputs: number;
  seed: number;
  wallS: number;
  frames: { inputs: number; accepted: number; intact: number; reframed: number; collisions: number; dropped: Record<string, number> };
  mqttDevice: { inputs: number; accepted: number; dropped: number };
  bridge: { inputs: number; decoded: number; valid: number };
  findings: FuzzFinding[];
}

const int = (rng: Rng, n: number): number => Math.floor(rng() * n);

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(rng, 256);
  return b;
}

/** Bytes that matter to the grammar, so mutations reach deep paths more often than pure noise would. */
const INTERESTING = Buffer.from('*\n\r{}[]",:0123456789ABCDEFabcdef-.eE \\tnulruefas\u00ff\u0000');

/** The last mutation recomputed the CRC on purpose (a well-formed frame around an edited payload). */
let reframed = false;

/** One random mutation of a valid frame (terminator excluded). */
export function mutate(rng: Rng, src: Buffer, corpus: readonly Buffer[]): Buffer {
  const b = Buffer.from(src);
  reframed = false;
  const pos = (): number => int(rng, Math.max(1, b.length));
  const byte = (): number => (rng() < 0.6 ? INTERESTING[int(rng, INTERESTING.length)] : int(rng, 256));
  switch (int(rng, 11)) {
    case 0: {
      const n = 1 + int(rng, 4);
      for (let i = 0; i < n; i++) b[pos()] ^= 1 << int(rng, 8);
      return b;
    }
    case 1:
      b[pos()] = byte();
      return b;
    case 2: {
      const at = pos();
      return Buffer.concat([b.subarray(0, at), Buffer.from([byte()]), b.subarray(at)]);
    }
    case 3: {
      const at = pos();
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(rng, 4))]);
    }
    case 4:
      return b.subarray(0, pos());
    case 5: {
      // Splice: head of this frame, tail of another (a line lost in the middle).
      const o = corpus[int(rng, corpus.length)];
      return Buffer.concat([b.subarray(0, pos()), o.subarray(int(rng, o.length))]);
    }
    case 6: {
      // CRC digits edited (case, value) with the payload intact.
      const s = b.toString("latin1");
      const star = s.lastIndexOf("*");
      if (star < 0) return b;
      const digits = s.slice(star + 1);
      const edited = rng() < 0.5 ? digits.toLowerCase() : crcHex((parseInt(digits, 16) + 1 + int(rng, 0xfffe)) & 0xffff);
      return Buffer.from(s.slice(0, star + 1) + edited, "latin1");
    }
    case 7: {
      // Payload edited and the CRC recomputed: a well-formed frame with a different (maybe invalid) message.
      const s = b.toString("latin1");
      const star = s.lastIndexOf("*");
      if (star < 0) return b;
      const p = Buffer.from(s.slice(0, star), "latin1");
      if (p.length) p[int(rng, p.length)] = byte();
      const text = p.toString("latin1");
      reframed = true;
      return Buffer.from(`${text}*${crcHex(crc16String(text))}`, "latin1");
    }
    case 8: {
      const at = pos();
      return Buffer.concat([b.subarray(0, at), Buffer.from(rng() < 0.5 ? "\r" : "\r\n"), b.subarray(at)]);
    }
    case 9: {
      // Several edits at once: the multi-byte errors a noisy line makes.
      let x = b;
      const n = 2 + int(rng, 6);
      for (let i = 0; i < n; i++) x[int(rng, Math.max(1, x.length))] = byte();
      if (rng() < 0.3) x = Buffer.concat([x, randomBytes(rng, int(rng, 20))]);
      return x;
    }
    default:
      return randomBytes(rng, int(rng, 80));
  }
}

function hexOf(b: Buffer): string {
  return b.length <= 200 ? b.toString("hex") : `${b.subarray(0, 200).toString("hex")}...`;
}

/** A valid corpus: messages of every type (fast-check arbitraries), framed. */
export function corpus(seed: number, n = 2000): AnyMsg[] {
  return fc.sample(anyMessage, { seed, numRuns: n });
}

export function runFuzz(opts: { inputs: number; seed: number }): FuzzReport {
  const t0 = performance.now();
  const rng = mulberry32(opts.seed);
  const msgs = corpus(opts.seed);
  const frames = msgs.map((m) => Buffer.from(encodeFrame(m).slice(0, -1), "utf8"));
  const jsons = msgs.map((m) => Buffer.from(encodeJson(m), "utf8"));
  const findings: FuzzFinding[] = [];
  const note = (f: FuzzFinding): void => {
    if (findings.length < 50) findings.push(f);
  };
  const report: FuzzReport = {
    inputs: 0,
    seed: opts.seed,
    wallS: 0,
    frames: { inputs: 0, accepted: 0, intact: 0, reframed: 0, collisions: 0, dropped: {} },
    mqttDevice: { inputs: 0, accepted: 0, dropped: 0 },
    bridge: { inputs: 0, decoded: 0, valid: 0 },
    findings,
  };

  // --- Frame reader: every accepted message is checked against the line it came from.
  let lastLine: Buffer = Buffer.alloc(0);
  let accepted: AnyMsg[] = [];
  const lines: Buffer[] = [];
  const acceptSets = [undefined, ACCEPTS.device, ACCEPTS.companion];
  const readers = acceptSets.map((acc) => new FrameReader((m) => accepted.push(m), () => {}, acc));

  // --- Device-side MQTT transport, driven through its client's "message" event (no broker needed).
  const fakeClient = new EventEmitter();
  const mqttOpts = { url: "mqtt://fuzz.invalid", deviceId: "fuzz-1", role: "device" as const };
  // The constructor is private (connect() is the public way in); the fuzzer wants only its parser.
  const device = Reflect.construct(MqttTransport as unknown as new (c: unknown, o: unknown) => MqttTransport, [fakeClient, mqttOpts]);
  let mqttAccepted = 0;
  device.setHandlers({ onMessage: () => mqttAccepted++ });
  const cmdTopic = topic("fuzz-1", "cmd");
  const otherTopics = [topic("fuzz-1", "tlm"), topic("fuzz-1", "status"), topic("fuzz-2", "cmd"), "invert/fuzz-1/cmd/x", ""];

  const requestBodies = [
    "",
    "{}",
    '{"transaction":"t-1"}',
    '{"program":"beginner","profile":"ann","transaction":7}',
    '{"kind":"pain"}',
    '{"program":{"name":"x","steps":[{"type":"ramp","to":20,"speed":4}]}}',
    '{"transaction":"x","ts":1,"nonce":"n","sig":"abc","source":"ha"}',
  ].map((s) => Buffer.from(s));

  const frameShare = Math.ceil(opts.inputs * 0.6);
  const mqttShare = Math.ceil(opts.inputs * 0.25);
  const bridgeShare = opts.inputs - frameShare - mqttShare;

  for (let i = 0; i < frameShare; i++) {
    const src = frames[int(rng, frames.length)];
    reframed = false;
    const input = rng() < 0.05 ? src : mutate(rng, src, frames);
    const reader = readers[i % readers.length];
    accepted = [];
    lastLine = input;
    try {
      // Random chunking: the splitter must reassemble lines whatever the read sizes.
      const whole = Buffer.concat([input, Buffer.from("\n")]);
      let at = 0;
      while (at < whole.length) {
        const n = 1 + int(rng, rng() < 0.5 ? 8 : 600);
        reader.push(whole.subarray(at, at + n));
        at += n;
      }
    } catch (e) {
      note({ target: "frames", kind: "crash", detail: String((e as Error)?.stack ?? e), input: hexOf(lastLine) });
      continue;
    }
    report.frames.inputs++;
    if (!accepted.length) continue;
    lines.length = 0;
    // The input may hold several lines (a mutation can insert CR/LF); accepted messages must each match one.
    for (const part of input.toString("latin1").split("\n")) lines.push(Buffer.from(part, "latin1"));
    for (const m of accepted) {
      report.frames.accepted++;
      const again = Buffer.from(encodeFrame(m).slice(0, -1), "utf8");
      const legit = lines.some((l) => {
        const t = l.length && l[l.length - 1] === 0x0d ? l.subarray(0, -1) : l;
        const s = t.toString("utf8");
        const star = s.lastIndexOf("*");
        return star > 0 && crcHex(crc16String(s.slice(0, star))) === s.slice(star + 1);
      });
      if (!legit) {
        note({ target: "frames", kind: "corrupt-accepted", detail: `accepted ${JSON.stringify(m)} from a line whose CRC does not match`, input: hexOf(input) });
        continue;
      }
      // Intact when the accepted message is the one its source frame carried.
      if (lines.some((l) => again.equals(l) || again.equals(l.subarray(0, -1)))) report.frames.intact++;
      else if (reframed) report.frames.reframed++;
      else report.frames.collisions++;
    }
  }
  for (const r of readers) for (const [k, v] of Object.entries(r.drops)) report.frames.dropped[k] = (report.frames.dropped[k] ?? 0) + v;

  for (let i = 0; i < mqttShare; i++) {
    const src = jsons[int(rng, jsons.length)];
    const r = rng();
    const payload = r < 0.05 ? src : r < 0.1 ? randomBytes(rng, int(rng, MAX_LINE_BYTES * 2)) : mutate(rng, src, jsons);
    const t = rng() < 0.9 ? cmdTopic : otherTopics[int(rng, otherTopics.length)];
    // A broker sets the retain flag on stored copies only: on cmd, a leftover that must never be acted on.
    const retain = rng() < 0.1;
    const before = mqttAccepted;
    try {
      fakeClient.emit("message", t, payload, { retain });
    } catch (e) {
      note({ target: "mqtt-device", kind: "crash", detail: String((e as Error)?.stack ?? e), input: hexOf(payload) });
      continue;
    }
    report.mqttDevice.inputs++;
    if (mqttAccepted > before) {
      report.mqttDevice.accepted++;
      // Whatever got through must be a valid companion message by the schemas, on its own topic.
      let ok = false;
      try {
        ok = t === cmdTopic && !retain && validate(JSON.parse(payload.toString("utf8")), ACCEPTS.device).ok;
      } catch {
        ok = false;
      }
      if (!ok) note({ target: "mqtt-device", kind: "corrupt-accepted", detail: `accepted on ${t}`, input: hexOf(payload) });
    }
  }
  report.mqttDevice.dropped = report.mqttDevice.inputs - report.mqttDevice.accepted;

  for (let i = 0; i < bridgeShare; i++) {
    const src = requestBodies[int(rng, requestBodies.length)];
    const payload = rng() < 0.1 ? randomBytes(rng, int(rng, 200)) : src.length ? mutate(rng, src, requestBodies) : src;
    const action = REQUEST_ACTIONS[int(rng, REQUEST_ACTIONS.length)];
    try {
      const d = decodePayload(payload);
      report.bridge.inputs++;
      if (!d.ok) {
        if (!d.reason || /[\r\n]/.test(d.reason)) note({ target: "bridge", kind: "unclear-refusal", detail: `refusal is not one line: ${JSON.stringify(d.reason)}`, input: hexOf(payload) });
        continue;
      }
      report.bridge.decoded++;
      const v = validateAction(action, d.body);
      if (v.ok) report.bridge.valid++;
      // One clear line naming the field: an echoed field name must not smuggle a line break into logs.
      else if (!v.reason.includes(": ") || /[\r\n]/.test(v.reason)) note({ target: "bridge", kind: "unclear-refusal", detail: `refusal is not one line naming a field: ${JSON.stringify(v.reason)}`, input: hexOf(payload) });
    } catch (e) {
      note({ target: "bridge", kind: "crash", detail: String((e as Error)?.stack ?? e), input: hexOf(payload) });
    }
  }
  report.inputs = report.frames.inputs + report.mqttDevice.inputs + report.bridge.inputs;
  report.wallS = (performance.now() - t0) / 1000;
  return report;
}

export function formatFuzz(r: FuzzReport): string {
  const f = r.frames;
  return [
    `fuzz seed ${r.seed}: ${r.inputs} inputs in ${r.wallS.toFixed(1)} s (${Math.round(r.inputs / r.wallS)}/s)`,
    `  frame reader: ${f.inputs} inputs, ${f.accepted} accepted (${f.intact} intact, ${f.reframed} well-formed edits with a recomputed CRC, ${f.collisions} CRC-16 collisions), dropped ${Object.entries(f.dropped).map(([k, v]) => `${k} ${v}`).join(", ")}`,
    `  device MQTT cmd handler: ${r.mqttDevice.inputs} inputs, ${r.mqttDevice.accepted} accepted, ${r.mqttDevice.dropped} dropped`,
    `  bridge requests: ${r.bridge.inputs} inputs, ${r.bridge.decoded} decoded, ${r.bridge.valid} valid`,
    `  findings: ${r.findings.length}`,
    ...r.findings.map((x) => `    ${x.target} ${x.kind}: ${x.detail.split("\n")[0]} (input ${x.input})`),
  ].join("\n");
}

function main(argv: string[]): number {
  let inputs = 1_000_000;
  let seed = 1;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") json = true;
    else if (a === "--inputs" || a === "--seed") {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < (a === "--inputs" ? 1 : 0)) {
        console.error(`${a}: must be an integer ${a === "--inputs" ? ">= 1" : ">= 0"}, got "${argv[i] ?? ""}"`);
        return 2;
      }
      if (a === "--inputs") inputs = v;
      else seed = v;
    } else {
      console.error(`unknown option "${a}" (use --inputs N, --seed S, --json)`);
      return 2;
    }
  }
  const r = runFuzz({ inputs, seed });
  console.log(json ? JSON.stringify(r) : formatFuzz(r));
  return r.findings.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main(process.argv.slice(2));
