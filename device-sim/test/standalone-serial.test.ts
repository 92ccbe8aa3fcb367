// `invert sim --serial` as a child process over a real socat pseudo-terminal, driven by a plain client.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FramedStreamTransport } from "../../protocol/index.js";
import { openSerialPort, type SerialBytePort } from "../../protocol/transport/serial.js";
import { describeIfTool } from "../../test/helpers/real-io.js";
import { openPtyPair, type PtyPair } from "../../test/helpers/socat.js";
import * as acc from "./acceptance.js";
import { PlainClient, spawnSim, tempDir, writeConfig, type SimProcess } from "./real-io.js";

describeIfTool(["socat"], "invert sim --serial over a socat pseudo-terminal", () => {
  let pty: PtyPair;
  let sim: SimProcess;
  let port: SerialBytePort;
  let client: PlainClient;
  const dir = tempDir();
  const trace = join(dir, "trace.jsonl");

  beforeAll(async () => {
    pty = await openPtyPair();
    sim = spawnSim(["--serial", pty.a, "--config", writeConfig(dir), "--trace", trace, "--seed", "3"]);
    await sim.ready();
    port = await openSerialPort(pty.b);
    client = new PlainClient(new FramedStreamTransport(port, "companion"));
  });

  afterAll(async () => {
    client?.stopHeartbeat();
    await sim?.kill("SIGKILL");
    await port?.close();
    await pty?.close();
  });

  it("answers hello with caps", () => acc.handshake(client));
  it("streams telemetry at the advertised rate", () => acc.telemetryRate(client));
  it("executes a move within limits at no more than the commanded speed", () => acc.moveWithinLimits(client));
  it("refuses out-of-limit moves", () => acc.outOfLimitRefused(client));
  it("drops a bad-CRC frame and counts it in rxErr", () =>
    acc.corruptRefused(client, () => {
      const payload = JSON.stringify({ v: 1, seq: 999, type: "move", id: "bad", axis: "tilt", target: 0, speed: 5 });
      port.write(Buffer.from(`${payload}*0000\n`));
    }));
  it("returns to upright on its own when the client goes silent", () => acc.silentReturn(client));

  it("traced every telemetry sample and event as JSON lines", () => {
    const lines = readFileSync(trace, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { type: string; code?: string });
    expect(lines.filter((l) => l.type === "tlm").length).toBeGreaterThanOrEqual(client.tlm.length);
    expect(lines.filter((l) => l.type === "evt").map((l) => l.code)).toEqual(expect.arrayContaining(["BOOT", "WATCHDOG", "RETURN_STARTED", "RETURN_DONE"]));
  });

  it("shuts down cleanly on SIGINT", async () => {
    const r = await sim.kill("SIGINT");
    expect(r.code).toBe(0);
    expect(sim.stderr()).toMatch(/sim: stopped \(SIGINT\)/);
  });
});

describe.concurrent("invert sim flags", () => {
  const run = async (args: string[]) => {
    const p = spawnSim(args);
    const r = await p.exited;
    return { code: r.code, lines: p.stderr().trim().split("\n") };
  };

  it("refuses a bad flag with one clear line", async ({ expect }) => {
    const r = await run(["--serial", "/nonexistent", "--drop-link", "5"]);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual(['invert: --drop-link: expected AT:DURATION in seconds (e.g. 10:3), got "5"']);
  });

  it("needs exactly one of --serial and --mqtt", async ({ expect }) => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual(["invert: sim: give exactly one of --serial PATH or --mqtt URL --id ID"]);
  });

  it("refuses a bad config naming the field", async ({ expect }) => {
    const dir = tempDir();
    const r = await run(["--serial", "/nonexistent", "--config", writeConfig(dir, { tilt: { speedMax: -1 } })]);
    expect(r.code).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^invert: config tilt\.speedMax: /);
  });

  it("reports a serial port that cannot be opened in one line", async ({ expect }) => {
    const r = await run(["--serial", "/nonexistent/tty"]);
    // Exit code 3: a device/link error (src/cli/exit-codes.ts).
    expect(r.code).toBe(3);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^invert: serial \/nonexistent\/tty: cannot open/);
  });
});

describeIfTool(["socat"], "invert sim --serial when its line goes away", () => {
  it("ends with an error, which `invert sim` turns into a link error exit", async () => {
    const { runStandaloneSim } = await import("../standalone.js");
    const pair = await openPtyPair();
    const lines: string[] = [];
    const sim = await runStandaloneSim({ serial: pair.a, log: (l) => lines.push(l) });
    try {
      await pair.close();
      const err = await sim.ended;
      expect(err).toBeInstanceOf(Error);
      expect(lines.some((l) => l.startsWith(`sim: serial ${pair.a} closed`))).toBe(true);
    } finally {
      await sim.close();
    }
  });
});
