// The real `invert` command as child processes: the standalone simulator and the companion.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../helpers/wait.js";

export const BIN = fileURLToPath(new URL("../../bin/invert.js", import.meta.url));

export interface Child {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** Sends the signal unless already exited; resolves once the process is gone. */
  end(signal?: NodeJS.Signals): Promise<void>;
}

export function invert(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  let err = "";
  proc.stdout?.setEncoding("utf8").on("data", (s: string) => (out += s));
  proc.stderr?.setEncoding("utf8").on("data", (s: string) => {
    if (err.length < 200_000) err += s;
  });
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    proc.once("exit", (code, signal) => {
      done = true;
      resolve(code ?? signal ?? -1);
    });
  });
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    async end(signal = "SIGTERM") {
      if (!done) proc.kill(signal);
      await exited;
    },
  };
}

/** Starts `invert sim ...` and waits (bounded) until it says it is serving. */
export async function startSim(args: string[], timeoutMs = 20_000): Promise<Child> {
  const sim = invert(["sim", ...args]);
  let gone: number | string | undefined;
  void sim.exited.then((c) => (gone = c));
  await waitFor(() => gone !== undefined || sim.stderr().includes("serving on"), timeoutMs, "the simulator to serve");
  if (gone !== undefined) throw new Error(`simulator exited (${gone}): ${sim.stderr().slice(-500)}`);
  return sim;
}

export interface Workdir {
  dir: string;
  file(name: string, content?: string): string;
  cleanup(): void;
}

export function workdir(): Workdir {
  const dir = mkdtempSync(join(tmpdir(), "invert-e2e-"));
  return {
    dir,
    file(name, content) {
      const p = join(dir, name);
      if (content !== undefined) writeFileSync(p, content);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TraceLine {
  type: string;
  tilt?: number;
  vel?: number;
  mode?: string;
  code?: string;
  faults?: string[];
  ts: number;
}

export function readTrace(path: string): TraceLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as TraceLine];
      } catch {
        return []; // a line still being written
      }
    });
}

/**
 * A device whose upright is only 20 deg below horizontal and whose return rests briefly, so real-time
 * sessions over real ports take seconds, not minutes. The physics and safety logic are the normal ones.
 */
export const QUICK_SIM_CONFIG = {
  model: "table",
  tilt: { min: -20, upright: -20, restS: 2, pauseS: 1, approachZone: 3 },
};

/** Moves a few degrees within the quick device's range and holds briefly: a complete session in a few seconds. */
export const SHORT_PROGRAM = {
  name: "e2e-short",
  steps: [
    { type: "ramp", to: -17, speed: 5 },
    { type: "hold", seconds: 1 },
  ],
};
