// Runs the profile/history/report commands in-process on a temporary store, capturing output.
import { Command } from "commander";
import { PassThrough } from "node:stream";
import { registerWith as history } from "../../src/cli/commands/history.js";
import { registerWith as profile } from "../../src/cli/commands/profile.js";
import { registerWith as report } from "../../src/cli/commands/report.js";
import { openStore } from "../../src/store/index.js";
import type { CliIO } from "../../src/users/cli-io.js";

export interface CliResult {
  out: string;
  err: string;
  /** The one line main.ts would print, when the command failed. */
  error?: string;
}

export function cli(dir: string, opts: { now?: Date; tty?: string } = {}) {
  return async (...args: string[]): Promise<CliResult> => {
    let out = "";
    let err = "";
    const stdin = new PassThrough();
    if (opts.tty !== undefined) stdin.end(opts.tty);
    const io: CliIO = {
      out: (t) => (out += t),
      err: (t) => (err += t),
      stdin,
      isTTY: opts.tty !== undefined,
      now: () => opts.now ?? new Date("2026-05-01T09:00:00Z"),
      openStore: () => openStore(dir, { now: () => opts.now ?? new Date("2026-05-01T09:00:00Z") }),
    };
    const program = new Command().name("invert").exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    for (const r of [profile, history, report]) r(program, io);
    // Commander's subcommands inherit exitOverride only when set before they are added.
    program.commands.forEach(function walk(c: Command): void {
      c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
      c.commands.forEach(walk);
    });
    try {
      await program.parseAsync(args, { from: "user" });
      return { out, err };
    } catch (e) {
      return { out, err, error: e instanceof Error ? e.message : String(e) };
    }
  };
}
