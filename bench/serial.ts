// Serial command round trip: companion `move` -> device `ack` over a socat pseudo-terminal pair (the
// real serialport stack, CRC framing, the link layer with ids and retries, the simulated firmware on
// the other end), against the floor: a bare line echoed back over the same pair, between the commands.
//
// The simulated device and the echo's far end both run in this process, so the two contenders are built
// alike: same wrapper on every port, same event loop, and the device's physics steps and 10 Hz telemetry
// go on through both (a real device does not stop talking while it is measured). A separate process
// would isolate the device as hardware is isolated, but each frame would then wake a second Node
// process and run the simulator's JavaScript cold, which adds more to the command path than to the echo:
// the simulator's cost, not the companion stack's, and a microcontroller has neither.
import { pathToFileURL } from "node:url";
import { FramedStreamTransport, RealClock, type BytePort } from "../protocol/index.js";
import { openSerialPort } from "../protocol/transport/serial.js";
import { createSimDevice } from "../device-sim/index.js";
import { DeviceLink } from "../src/link/device-link.js";
import { openPtyPair } from "../test/helpers/socat.js";
import { hasTool } from "../test/helpers/real-io.js";
import { latency, ratio, timeAlternating, within, type LatencyFigures } from "./stats.js";

export interface SerialBenchResult {
  skipped?: string;
  commands?: LatencyFigures;
  floor?: LatencyFigures;
  /** p50 of the command round trip over the p50 of the bare echo. */
  ratio?: number;
  target: { maxRatio: number };
  pass?: boolean;
}

export const SERIAL_TARGET = 1.5;
/** Unmeasured round trips of each contender before the measured ones. */
const WARMUP = 3000;

/** Echo lines start with this byte; a protocol frame never does (frames start with "{"). */
const ECHO_MARK = 0x7e; // "~"

/**
 * Splits the bytes arriving on `port`: lines that start with ECHO_MARK go to `onEcho`, everything else
 * to the returned port's reader (the framing layer), chunk boundaries and all.
 */
function splitEchoLines(port: BytePort, onEcho: (bytes: Uint8Array) => void): BytePort {
  let reader: ((chunk: Uint8Array) => void) | undefined;
  let atLineStart = true;
  let echo = false;
  port.onData((chunk) => {
    for (let i = 0; i < chunk.length; ) {
      if (atLineStart) echo = chunk[i] === ECHO_MARK;
      const nl = chunk.indexOf(0x0a, i);
      const end = nl < 0 ? chunk.length : nl + 1;
      const part = chunk.subarray(i, end);
      if (echo) onEcho(part);
      else reader?.(part);
      atLineStart = nl >= 0;
      i = end;
    }
  });
  return {
    write: (d) => port.write(d),
    onData: (cb) => void (reader = cb),
    onClose: (cb) => port.onClose(cb),
    close: () => port.close(),
  };
}

/**
 * The floor: a bare line of `bytes`, written by the companion's port and written back as it arrives by
 * the device's port. It shares the pty pair, the socat process and the serial wrapper with the
 * commands, and the device's telemetry and the link's heartbeats flow through both contenders alike,
 * so the two differ only in what a command adds: framing, the link layer and the firmware.
 */
function echoContender(compPort: BytePort, bytes: number, onEcho: (cb: (bytes: Uint8Array) => void) => void): () => Promise<void> {
  let got = 0;
  let wake: (() => void) | undefined;
  onEcho((part) => {
    got += part.length;
    if (got >= bytes && wake) {
      got -= bytes;
      const w = wake;
      wake = undefined;
      w();
    }
  });
  const line = Buffer.from(`${String.fromCharCode(ECHO_MARK)}${"x".repeat(bytes - 2)}\n`);
  return () =>
    within(
      new Promise<void>((resolve) => {
        wake = resolve;
        compPort.write(line);
      }),
      2000,
      "echo",
    );
}

export async function runSerialBench(opts: { commands?: number } = {}): Promise<SerialBenchResult> {
  const target = { maxRatio: SERIAL_TARGET };
  if (!hasTool("socat")) return { skipped: "socat is not installed (apt install socat)", target };
  const n = opts.commands ?? 300;
  const pair = await openPtyPair();
  const clock = new RealClock(1);
  const devPort = await openSerialPort(pair.b);
  const devSide = splitEchoLines(devPort, (part) => devPort.write(part));
  const device = createSimDevice({ clock, transport: new FramedStreamTransport(devSide, "device"), seed: 1 });
  const compPort = await openSerialPort(pair.a);
  let echoed: ((bytes: Uint8Array) => void) | undefined;
  const compSide = splitEchoLines(compPort, (part) => echoed?.(part));
  const link = new DeviceLink(new FramedStreamTransport(compSide, "companion"), clock, { idPrefix: "bench" });
  // The floor carries as many bytes as a move frame.
  const frameBytes = `{"v":1,"seq":123,"type":"move","id":"bench-123","axis":"tilt","target":-79.5,"speed":1}*ABCD\n`.length;
  const echo = echoContender(compPort, frameBytes, (cb) => (echoed = cb));
  let samples: number[] = [];
  let floorSamples: number[] = [];
  try {
    await within(link.handshake(), 5000, "handshake");
    // Small moves near upright alternate, so every command is a real one the firmware acts on.
    const move = async (i: number): Promise<void> => {
      const target = i % 2 === 0 ? -79.5 : -79.8;
      const ack = await within(link.command({ type: "move", axis: "tilt", target, speed: 1 }), 2000, "move");
      if (ack.result !== "accepted") throw new Error(`move ${target}: ${ack.result} ${ack.reason ?? ""}`);
    };
    // A companion runs for hours: measure the steady state, not V8 tiering the path up, which takes
    // a few thousand round trips here and weighs on the command path (more JavaScript) more than the echo.
    [samples, floorSamples] = await timeAlternating(n, WARMUP, move, echo);
  } finally {
    device.stop();
    await link.close();
    await devPort.close();
    await pair.close();
  }
  const commands = latency(samples);
  const floor = latency(floorSamples);
  const r = ratio(commands.p50Ms, floor.p50Ms);
  return { commands, floor, ratio: r, target, pass: r <= SERIAL_TARGET };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runSerialBench().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (e: unknown) => {
      console.error(`serial bench: ${(e as Error)?.message ?? String(e)}`);
      process.exitCode = 1;
    },
  );
}
