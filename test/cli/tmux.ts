// A real pseudo-terminal for the CLI: a private tmux server (own socket, so a user's tmux is never
// touched) running one command in a detached pane, with keys sent and the screen read back.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { toolPath } from "../helpers/real-io.js";

const run = promisify(execFile);

export interface TmuxPane {
  /** The whole pane, scrollback included, with wrapped lines joined. */
  screen(): Promise<string>;
  /** Keys as tmux names them: "p", "Space", "C-c". */
  send(...keys: string[]): Promise<void>;
  /** Polls the screen until `re` matches (a real event: the program drew it), within a deadline. */
  waitFor(re: RegExp, timeoutMs: number): Promise<string>;
  close(): Promise<void>;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Starts `argv` in a new pane of a private server. When the command ends, the pane prints EXIT=<code>
 * and stays open (cat waits on the terminal) so the final screen can be read.
 */
export async function startInTmux(argv: string[], opts: { cwd: string; env: Record<string, string>; width?: number; height?: number }): Promise<TmuxPane> {
  const tmux = toolPath("tmux");
  if (!tmux) throw new Error("tmux is not installed");
  const dir = mkdtempSync(join(tmpdir(), "invert-tmux-"));
  const sock = join(dir, "sock");
  const envs = Object.entries(opts.env).map(([k, v]) => `${k}=${quote(v)}`).join(" ");
  const shell = `cd ${quote(opts.cwd)} && env ${envs} ${argv.map(quote).join(" ")}; echo "EXIT=$?"; exec cat`;
  const tm = (...args: string[]) => run(tmux, ["-S", sock, "-f", "/dev/null", ...args], { timeout: 10_000 });
  await tm("new-session", "-d", "-s", "t", "-x", String(opts.width ?? 120), "-y", String(opts.height ?? 50), shell);
  const screen = async () => (await tm("capture-pane", "-p", "-J", "-S", "-2000", "-t", "t")).stdout;
  return {
    screen,
    async send(...keys) {
      await tm("send-keys", "-t", "t", ...keys);
    },
    async waitFor(re, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      for (;;) {
        last = await screen();
        if (re.test(last)) return last;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re} on the terminal; screen:\n${last.trimEnd()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await tm("kill-server").catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
