// The `invert` command line. Each command lives in its own module under commands/ and registers itself
// here; errors are one clear line (stack traces only with --verbose).
import { Command, CommanderError } from "commander";
import { VERSION } from "./version.js";
import { EXIT, EXIT_CODE_HELP, errorLine, exitCodeFor } from "./exit-codes.js";
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
  // Commander's own errors (unknown flag, missing argument) become exceptions, so they get our exit
  // code 2 and the same one-line shape as every other error, its suggestion and the usage hint included.
  .exitOverride()
  .configureOutput({
    outputError: (str, write) => write(`invert: ${str.replace(/^error: /, "").trim().replace(/\s*\n\s*/g, " ")} (run with --help for usage)\n`),
  })
  .addHelpText(
    "after",
    `
Examples:
  invert run --speed 50                       a guest beginner session on the embedded simulator, 50x
  invert programs list                        the built-in programs
  invert profile create ann --weight 68 --height 170 --no-contraindications
  invert run --profile ann --speed 50         ann's next ramp-up session
  invert history                              recorded sessions
  invert report last --out session.svg        chart of the last one
  invert sim --serial /tmp/ttyB               a simulated device on a serial port
  invert run --device serial:/tmp/ttyA        a session over that port

Run \`invert <command> --help\` for each command's options and examples.

${EXIT_CODE_HELP}`,
  );

// Command modules: each exports `register(program)`.
const modules: { register(p: Command): void }[] = [profile, history, report, programs, bridge, sim, run];
for (const m of modules) m.register(program);

await program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // Help and --version end through here with code 0; commander has already printed any error line.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return;
  }
  process.stderr.write(errorLine(err, process.argv.includes("--verbose")));
  process.exitCode = exitCodeFor(err);
});
