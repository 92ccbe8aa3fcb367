// Starts an external tool (socat, mosquitto) and waits until it is ready, with a hard deadline and a
// clear error carrying the tool's own stderr when it exits early or never becomes ready.
import { spawn, type ChildProcess } from "node:child_process";

export interface ToolProcess {
  readonly process: ChildProcess;
  /** Sends `signal` (unless already exited) and resolves when the process has exited. */
  end(signal: NodeJS.Signals): Promise<void>;
}

export async function spawnUntilReady(
  bin: string,
  args: string[],
  ready: () => boolean | Promise<boolean>,
  opts: { timeoutMs: number; what: string; cleanup?: () => void },
): Promise<ToolProcess> {
  const proc = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  proc.stderr?.setEncoding("utf8");
  proc.stderr?.on("data", (s: string) => {
    if (log.length < 8000) log += s;
  });
  let exited: string | undefined;
  const exitedP = new Promise<void>((resolve) => {
    proc.once("exit", (code, signal) => {
      exited = `${opts.what} exited (code ${code}, signal ${signal}): ${log.trim().slice(-500)}`;
      resolve();
    });
    proc.once("error", (e) => {
      exited = `${opts.what} failed to start: ${e.message}`;
      resolve();
    });
  });
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (exited === undefined) {
      proc.kill(signal);
      await exitedP;
    }
    opts.cleanup?.();
  };
  // Polls for a real event (files created, a port accepting) against a deadline; not a timing sleep.
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      await end("SIGKILL");
      throw new Error(exited);
    }
    if (await ready()) return { process: proc, end };
    if (Date.now() > deadline) {
      await end("SIGKILL");
      throw new Error(`${opts.what} not ready within ${opts.timeoutMs} ms: ${log.trim().slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
