// Serial command round trip: companion `move` -> device `ack` over a socat pseudo-terminal pair (the
// real serialport stack, CRC framing, the link layer with ids and retries, the simulated firmware on
// the other end), against the floor: a bare line echoed back over the same kind of pair.
//
// The simulated device and the echo's far end both run in this process, so the two contenders are built
// alike: same wrapper on every port, same event loop, and the device's physics steps and 10 Hz telemetry
// go on through both (a real device does not stop talking while it is measured). A separate process
// would isolate the device as hardware is isolated, but each frame would then wake a second Node
// process and run the simulator's JavaScript cold, which adds more to the command path than to the echo:
// the simulator's cost, not the companion stack's, and a microcontroller has neither.
import { pathToFileURL } from "node:url";
import { FramedStreamTransport, RealClock } from "../protocol/index.js";
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
const WARMUP = 1000;

/**
 * Bare echo over a pty pair: write one line of `bytes` on A, the other end writes it back. Both ends
 * use the same serial wrapper as the link and the device, so the floor is the I/O that any frame pays.
 */
async function openEcho(bytes: number): Promise<{ once: () => Promise<void>; close: () => Promise<void> }> {
  const pair = await openPtyPair();
  const a = await openSerialPort(pair.a);
  const b = await openSerialPort(pair.b);
  b.onData((chunk) => b.write(chunk));
  let buf = 0;
  let wake: (() => void) | undefined;
  a.onData((chunk) => {
    buf += chunk.length;
    if (buf >= bytes && wake) {
      buf -= bytes;
      const w = wake;
      wake = undefined;
      w();
    }
  });
  const line = Buffer.from(`${"x".repeat(bytes - 1)}\n`);
  return {
    once: () =>
      within(
        new Promise<void>((resolve) => {
          wake = resolve;
          a.write(line);
        }),
        2000,
        "echo",
      ),
    close: async () => {
      await a.close();
      await b.close();
      await pair.close();
    },
  };
}

export async function runSerialBench(opts: { commands?: number } = {}): Promise<SerialBenchResult> {
  const target = { maxRatio: SERIAL_TARGET };
  if (!hasTool("socat")) return { skipped: "socat is not installed (apt install socat)", target };
  const n = opts.commands ?? 300;
  const pair = await openPtyPair();
  const clock = new RealClock(1);
  const devPort = await openSerialPort(pair.b);
  const device = createSimDevice({ clock, transport: new FramedStreamTransport(devPort, "device"), seed: 1 });
  const compPort = await openSerialPort(pair.a);
  const link = new DeviceLink(new FramedStreamTransport(compPort, "companion"), clock, { idPrefix: "bench" });
  // The floor carries as many bytes as a move frame.
  const frameBytes = `{"v":1,"seq":123,"type":"move","id":"bench-123","axis":"tilt","target":-79.5,"speed":1}*ABCD\n`.length;
  const echo = await openEcho(frameBytes);
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
    // some hundreds of round trips and weighs on the command path (more JavaScript) more than the echo.
    [samples, floorSamples] = await timeAlternating(n, WARMUP, move, () => echo.once());
  } finally {
    device.stop();
    await link.close();
    await devPort.close();
    await pair.close();
    await echo.close();
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
