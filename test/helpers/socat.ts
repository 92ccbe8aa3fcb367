// A pair of linked pseudo-terminals from socat: bytes written to one end come out of the other, through
// the kernel's tty layer, just as with a USB-UART cable. Lets the real serialport stack be tested.
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnUntilReady } from "./process.js";
import { toolPath } from "./real-io.js";

export interface PtyPair {
  /** Paths of the two ends (symlinks to /dev/pts/N in a private temp folder). */
  a: string;
  b: string;
  /** Kills socat (both ends then see EOF/EIO) and removes the temp folder. */
  close(): Promise<void>;
  readonly process: ChildProcess;
}

export async function openPtyPair(opts: { timeoutMs?: number } = {}): Promise<PtyPair> {
  const socat = toolPath("socat");
  if (!socat) throw new Error("socat is not installed");
  const dir = mkdtempSync(join(tmpdir(), "invert-pty-"));
  const a = join(dir, "A");
  const b = join(dir, "B");
  const tool = await spawnUntilReady(socat, ["-d", "-d", `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], () => existsSync(a) && existsSync(b), {
    timeoutMs: opts.timeoutMs ?? 5000,
    what: "socat",
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  });
  return { a, b, close: () => tool.end("SIGTERM"), process: tool.process };
}
