// `invert history`: recorded sessions, oldest first.
import type { Command } from "commander";
import { json, processIO, table, withStore, type CliIO } from "../../users/cli-io.js";

const f1 = (x: number | null) => (x === null ? "-" : `${Math.round(x * 10) / 10}°`);

export function registerWith(program: Command, io: CliIO): void {
  program
    .command("history")
    .description("list recorded sessions (oldest first)")
    .option("--profile <NAME>", "only this profile's sessions")
    .option("--json", "print as JSON")
    .addHelpText("after", `\nExamples:\n  invert history\n  invert history --profile ann --json\n  invert report last --out last.svg`)
    .action(async (o: { profile?: string; json?: boolean }) => {
      await withStore(io, (store) => {
        const profileId = o.profile === undefined ? undefined : store.profiles.get(o.profile).id;
        const rows = store.sessions.list(profileId === undefined ? {} : { profileId });
        if (o.json) return io.out(json(rows));
        if (!rows.length) return io.out("no sessions recorded yet\n");
        io.out(
          table(
            ["ID", "STARTED (UTC)", "PROFILE", "PROGRAM", "TARGET", "MAX", "OUTCOME"],
            rows.map((r) => [
              String(r.id),
              r.startedAt.replace("T", " ").slice(0, 16),
              r.profileName ?? "-",
              r.programName,
              r.targetAngle === null ? "-" : f1(r.targetAngle),
              f1(r.measuredMaxAngle),
              `${r.outcome ?? "open"}${r.discomfort ? " (discomfort)" : ""}${r.reason ? `: ${r.reason}` : ""}`,
            ]),
          ),
        );
      });
    });
}

export function register(program: Command): void {
  registerWith(program, processIO());
}
