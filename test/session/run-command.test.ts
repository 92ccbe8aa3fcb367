// `invert run`'s core, in-process against the embedded simulator sped up (real time, so kept short).
import { describe, expect, it } from "vitest";
import { EXIT, RunError, runCommand, type RunIO } from "../../src/cli/commands/run.js";

function captureIO(): RunIO & { stdout: string; stderr: string; interrupt(): void } {
  let handler: (() => void) | undefined;
  const io = {
    stdout: "",
    stderr: "",
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
    onInterrupt(cb: () => void) {
      handler = cb;
      return () => (handler = undefined);
    },
    interrupt() {
      handler?.();
    },
  };
  return io;
}

describe("runCommand", () => {
  it("runs the guest beginner session on the simulator and prints the summary as JSON", async () => {
    const io = captureIO();
    const r = await runCommand(undefined, { device: "sim", speed: 1000, json: true }, io);
    expect(r.exitCode).toBe(EXIT.completed);
    expect(io.stderr).toContain("guest beginner session");
    const summary = JSON.parse(io.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ outcome: "completed", program: "beginner", device: "sim", speed: 1000, guest: true, discomfort: false });
    expect(summary.maxAngle as number).toBeGreaterThan(19.5);
    // stdout carries the summary object alone (progress, if any, goes to stderr).
    expect(io.stdout.trim().startsWith("{") && io.stdout.trim().endsWith("}")).toBe(true);
  });

  it("prints plain timestamped progress lines, and Ctrl-C stops with a slow return (exit 1)", async () => {
    const io = captureIO();
    const p = runCommand("beginner", { device: "sim", speed: 100 }, io);
    // The first interrupt as soon as the program runs; a second one only says it keeps returning.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (/running \| step 2/.test(io.stderr)) {
          clearInterval(poll);
          io.interrupt();
          io.interrupt();
          resolve();
        }
      }, 5);
    });
    const r = await p;
    expect(r.exitCode).toBe(EXIT.aborted);
    expect(r.summary?.reason).toBe("stopped by the user");
    expect(io.stderr).toContain("still returning slowly");
    const lines = io.stderr.split("\n").filter((l) => l.startsWith("["));
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) expect(l).toMatch(/^\[\d\d:\d\d:\d\d\] /);
    expect(io.stderr).toMatch(/session aborted \(stopped by the user\)/);
    expect(io.stderr).not.toMatch(/\x1b\[/);
  });

  it.each([
    [["beginner", { device: "serial:/dev/ttyUSB0", speed: 5 }], /--speed: only the simulator/],
    [["beginner", { device: "sim", speed: "fast" }], /--speed: must be a number/],
    [["beginner", { device: "tcp://x" }], /--device: device "tcp:\/\/x": unknown scheme "tcp"/],
    [["no-such-program", { device: "sim" }], /unknown program "no-such-program"/],
  ] as const)("refuses bad input with one line: %j", async (args, why) => {
    const io = captureIO();
    const err = await runCommand(args[0], { ...args[1] }, io).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunError);
    expect((err as RunError).message).toMatch(why);
    expect((err as RunError).exitCode).toBe(EXIT.usage);
  });
});
