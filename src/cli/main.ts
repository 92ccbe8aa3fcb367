// The `invert` command line. Each command lives in its own module under commands/ and registers itself
// here; errors are one clear line (stack traces only with --verbose).
import { Command } from "commander";
import { VERSION } from "./version.js";
import * as history from "./commands/history.js";
import * as profile from "./commands/profile.js";
import * as programs from "./commands/programs.js";
import * as report from "./commands/report.js";
import * as run from "./commands/run.js";
import * as bridge from "./commands/bridge.js";
import * as sim from "./commands/sim.js";

const program = new Command();
program
  .name("invert")
  .description("Companion for motorized inversion tables and back stretchers: safe decompression sessions over serial or MQTT.")
  .version(VERSION, "-V, --version")
  .option("--verbose", "print stack traces on errors")
  .showHelpAfterError("(run with --help for usage)");

// Command modules: each exports `register(program)`.
const modules: { register(p: Command): void }[] = [profile, history, report, programs, bridge, sim, run];
for (const m of modules) m.register(program);

await program.parseAsync(process.argv).catch((err: unknown) => {
  const verbose = process.argv.includes("--verbose");
  const msg = err instanceof Error ? (verbose ? err.stack ?? err.message : err.message) : String(err);
  process.stderr.write(`invert: ${msg}\n`);
  process.exitCode = typeof (err as { exitCode?: unknown }).exitCode === "number" ? (err as { exitCode: number }).exitCode : 1;
});
