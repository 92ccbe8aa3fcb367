// Runs the real `invert` command as a subprocess (node bin/invert.js ...), as a user or a script would,
// with a private INVERT_HOME. Output is piped, so the command sees no terminal (plain lines mode).
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(REPO, "bin", "invert.js");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), "invert-cli-"));
}

/** Runs `invert ...args`; a hard deadline kills it (and fails the caller's expectations loudly). */
export function invert(args: string[], opts: { home?: string; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, INVERT_HOME: opts.home ?? tempHome(), NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`invert ${args.join(" ")}: no exit within ${opts.timeoutMs ?? 60_000} ms\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`));
    }, opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err });
    });
  });
}

/** Any ANSI escape sequence (CSI or a lone ESC). */
export const ESCAPE = /\u001b/;

export interface LiveCli {
  readonly child: ReturnType<typeof spawn>;
  out(): string;
  err(): string;
  /** Polls stderr until `re` matches (a line the command printed), within a deadline. */
  waitForErr(re: RegExp, timeoutMs: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `invert ...args` and lets the test interact with it (signals) while it runs. */
export function startInvert(args: string[], opts: { home?: string } = {}): LiveCli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, INVERT_HOME: opts.home ?? tempHome() }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    async waitForErr(re, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(err)) {
        if (child.exitCode !== null) throw new Error(`invert exited (${child.exitCode}) before printing ${re}; stderr:\n${err.slice(-2000)}`);
        if (Date.now() > deadline) {
          child.kill("SIGKILL");
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${re}; stderr:\n${err.slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
