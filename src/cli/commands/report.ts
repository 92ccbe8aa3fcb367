// `invert report SESSION`: chart or sample export of one recorded session.
import type { Command } from "commander";
import { resolveSessionId, writeReport } from "../../report/index.js";
import { processIO, withStore, type CliIO } from "../../users/cli-io.js";
import { UserError } from "../../users/errors.js";

export function registerWith(program: Command, io: CliIO): void {
  program
    .command("report <SESSION>")
    .description("chart (SVG/PNG) or export (CSV/JSON) one session; without --out, print a short summary")
    .option("--out <FILE>", "output file: .svg or .png (planned vs measured angle and force, limits, events), .csv or .json (samples)")
    .option("--profile <NAME>", "with SESSION = last: that profile's last session")
    .addHelpText(
      "after",
      `\nSESSION is an id from \`invert history\`, or "last".\n\nExamples:\n  invert report 12\n  invert report last --out session.svg\n  invert report 12 --out session.png\n  invert report 12 --out samples.csv`,
    )
    .action(async (session: string, o: { out?: string; profile?: string }) => {
      // A session id names one session: a profile beside it would be ignored, and the report could be
      // someone else's while the command line says whose it should be.
      if (o.profile !== undefined && session !== "last") throw new UserError(`--profile: only with SESSION = last (got SESSION "${session}")`);
      await withStore(io, async (store) => {
        const profileId = o.profile === undefined ? undefined : store.profiles.get(o.profile).id;
        const id = resolveSessionId(store, session, profileId);
        io.out(await writeReport(store, id, o.out));
      });
    });
}

export function register(program: Command): void {
  registerWith(program, processIO());
}
