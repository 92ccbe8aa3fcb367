// `invert profile ...`: user profiles and their contraindication screening.
import type { Command } from "commander";
import { UserError } from "../../users/errors.js";
import { json, processIO, table, withStore, type CliIO } from "../../users/cli-io.js";
import { deviceRating } from "../../users/device-rating.js";
import { createProfile, showProfile, screenProfile, updateProfile, validateProfile } from "../../users/profiles.js";
import { nextStep } from "../../users/rampup.js";
import { profileHistory } from "../../users/session-setup.js";
import { CONTRAINDICATIONS, askScreening, conditionsFromFlags, contraindication, screeningStatus } from "../../users/screening.js";
import type { Store } from "../../store/index.js";

const collect = (v: string, prev: string[]) => [...prev, v];

interface ScreenFlags {
  contraindications?: boolean;
  contraindication?: string[];
}

const CONDITION_HELP = `Contraindications (for --contraindication):\n${CONTRAINDICATIONS.map(
  (c) => `  ${c.id.padEnd(24)} ${c.blocksTraction ? "blocks head-down and traction" : "blocks head-down"}`,
).join("\n")}`;

/** Answers from flags, or asked on a terminal; undefined when neither is possible. */
async function answers(io: CliIO, flags: ScreenFlags): Promise<{ conditions: string[]; method: "flags" | "interactive" } | undefined> {
  const fromFlags = conditionsFromFlags({ none: flags.contraindications === false, names: flags.contraindication });
  if (fromFlags) return { conditions: fromFlags, method: "flags" };
  if (!io.isTTY) return undefined;
  // Questions go to stderr so that stdout stays clean for --json.
  return { conditions: await askScreening({ input: io.stdin, output: { write: (s: string) => io.err(s) } }), method: "interactive" };
}

function describeConditions(ids: readonly string[]): string {
  if (!ids.length) return "none declared";
  return ids.map((id) => `${id} (${contraindication(id)?.blocksTraction ? "no head-down, no traction" : "no head-down"})`).join(", ");
}

function profileJson(store: Store, name: string, now: Date) {
  const v = showProfile(store, name, now);
  const step = nextStep(v.profile, profileHistory(store, v.profile.id), now);
  return { ...v.profile, screening: v.screening, sessions: v.sessions, nextStep: step };
}

export function registerWith(program: Command, io: CliIO): void {
  const profile = program
    .command("profile")
    .description("manage user profiles (weight, height, maximum angle) and contraindication screening")
    .addHelpText(
      "after",
      `
Examples:
  invert profile create ann --weight 68 --height 170 --no-contraindications
  invert profile create bob --weight 90 --height 185 --contraindication glaucoma
  invert profile create cy --weight 80 --height 180 --device serial:/dev/ttyUSB0 --no-contraindications
  invert profile screen ann                 (asks the questions on a terminal)
  invert profile set ann --max-angle 70 --i-understand
  invert profile show ann --json
  invert profile list
  invert profile delete bob --yes`,
    );

  profile
    .command("create <NAME>")
    .description("create a profile; screening answers may be given now (or later with `profile screen`)")
    .addHelpText("after", `\nExamples:\n  invert profile create ann --weight 68 --height 170 --no-contraindications\n  invert profile create bob --weight 90 --height 185 --contraindication glaucoma\n  invert profile create cy --weight 80 --height 180   (then: invert profile screen cy)`)
    .requiredOption("--weight <KG>", "body weight in kg")
    .requiredOption("--height <CM>", "height in cm")
    .option("--max-angle <DEG>", "highest head-down angle this user may ever reach (default 60)")
    .option("--i-understand", "confirm a maximum angle above 60°")
    .option("--no-contraindications", "declare that none of the contraindications applies")
    .option("--contraindication <NAME>", "a contraindication that applies (repeatable)", collect, [])
    .option("--device <URI>", "check weight and height against this device's rated user limits (sim, serial:..., mqtt://...)")
    .option("--json", "print the profile as JSON")
    .addHelpText("after", `\n${CONDITION_HELP}`)
    .action(async (name: string, o: ScreenFlags & { weight: string; height: string; maxAngle?: string; iUnderstand?: boolean; device?: string; json?: boolean }) => {
      // Validate before asking questions or connecting, so a typo costs nothing.
      validateProfile({ name, weightKg: o.weight, heightCm: o.height, maxAngle: o.maxAngle }, { iUnderstand: o.iUnderstand });
      const rated = await deviceRating(o.device);
      const a = await answers(io, o);
      await withStore(io, (store) => {
        const { profile: p, screening } = createProfile(
          store,
          { name, weightKg: o.weight, heightCm: o.height, maxAngle: o.maxAngle },
          { iUnderstand: o.iUnderstand, conditions: a?.conditions, method: a?.method, rated },
        );
        if (o.json) return io.out(json(profileJson(store, p.name, io.now())));
        io.out(`created profile ${p.name}: ${p.weightKg} kg, ${p.heightCm} cm, max ${p.maxAngle}°\n`);
        io.out(
          screening
            ? `screening: ${describeConditions(screening.conditions)}\n`
            : `screening needed before the first session: invert profile screen ${p.name}\n`,
        );
      });
    });

  profile
    .command("screen <NAME>")
    .description("answer the contraindication screening (asked again every 90 days)")
    .addHelpText("after", `\nExamples:\n  invert profile screen ann                         (asks each question on a terminal)\n  invert profile screen ann --no-contraindications\n  invert profile screen bob --contraindication glaucoma --contraindication pregnancy`)
    .option("--no-contraindications", "declare that none of the contraindications applies")
    .option("--contraindication <NAME>", "a contraindication that applies (repeatable)", collect, [])
    .option("--json", "print the stored answers as JSON")
    .addHelpText("after", `\n${CONDITION_HELP}`)
    .action(async (name: string, o: ScreenFlags & { json?: boolean }) => {
      // Unknown profile before any question is asked.
      await withStore(io, (store) => store.profiles.get(name));
      const a = await answers(io, o);
      if (!a) throw new UserError("no screening answers: give --no-contraindications or --contraindication NAME, or run on a terminal to be asked");
      await withStore(io, (store) => {
        const s = screenProfile(store, name, a.conditions, a.method);
        if (o.json) return io.out(json(s));
        io.out(`screening for ${name} stored (${s.answeredAt.slice(0, 10)}): ${describeConditions(s.conditions)}\n`);
      });
    });

  profile
    .command("set <NAME>")
    .description("change weight, height or maximum angle; raising the maximum with --i-understand also lifts the ramp-up cap on explicit programs")
    .addHelpText("after", `\nExamples:\n  invert profile set ann --weight 70\n  invert profile set ann --max-angle 70 --i-understand`)
    .option("--weight <KG>", "body weight in kg")
    .option("--height <CM>", "height in cm")
    .option("--max-angle <DEG>", "highest head-down angle")
    .option("--i-understand", "deliberately allow explicit programs up to --max-angle, past the beginner ramp-up")
    .option("--device <URI>", "check weight and height against this device's rated user limits")
    .option("--json", "print the profile as JSON")
    .action(async (name: string, o: { weight?: string; height?: string; maxAngle?: string; iUnderstand?: boolean; device?: string; json?: boolean }) => {
      if (o.weight === undefined && o.height === undefined && o.maxAngle === undefined) {
        throw new UserError("nothing to change: give --weight, --height or --max-angle");
      }
      if (o.iUnderstand && o.maxAngle === undefined) throw new UserError("--i-understand goes with --max-angle DEG");
      const rated = await deviceRating(o.device);
      await withStore(io, (store) => {
        const p = updateProfile(store, name, { weightKg: o.weight, heightCm: o.height, maxAngle: o.maxAngle }, { iUnderstand: o.iUnderstand, rated });
        if (o.json) return io.out(json(profileJson(store, p.name, io.now())));
        io.out(
          `updated profile ${p.name}: ${p.weightKg} kg, ${p.heightCm} cm, max ${p.maxAngle}°` +
            (p.rampupBypass ? ` (explicit programs allowed up to ${p.maxAngle}°, past the ramp-up)` : "") +
            "\n",
        );
      });
    });

  profile
    .command("show <NAME>")
    .description("show a profile, its screening and its next ramp-up step")
    .addHelpText("after", `\nExamples:\n  invert profile show ann\n  invert profile show ann --json`)
    .option("--json", "print as JSON")
    .action(async (name: string, o: { json?: boolean }) => {
      await withStore(io, (store) => {
        const v = profileJson(store, name, io.now());
        if (o.json) return io.out(json(v));
        const lines = [
          `${v.name}: ${v.weightKg} kg, ${v.heightCm} cm, max ${v.maxAngle}°${v.rampupBypass ? " (raised deliberately: explicit programs not capped by the ramp-up)" : ""}`,
          v.screening.ok
            ? `screening: ${describeConditions(v.screening.conditions)} (answered ${v.screening.answeredAt.slice(0, 10)}, valid until ${v.screening.expiresAt.slice(0, 10)})`
            : `screening: ${v.screening.message}`,
          `sessions: ${v.sessions}`,
          `next: ${v.nextStep.reason}`,
        ];
        io.out(lines.join("\n") + "\n");
      });
    });

  profile
    .command("list")
    .description("list profiles")
    .addHelpText("after", `\nExamples:\n  invert profile list\n  invert profile list --json`)
    .option("--json", "print as JSON")
    .action(async (o: { json?: boolean }) => {
      await withStore(io, (store) => {
        const now = io.now();
        const rows = store.profiles.list().map((p) => ({
          ...p,
          screening: screeningStatus(p.name, store.profiles.latestScreening(p.id), now),
          sessions: store.sessions.list({ profileId: p.id }).length,
        }));
        if (o.json) return io.out(json(rows));
        if (!rows.length) return io.out("no profiles yet (invert profile create NAME --weight KG --height CM)\n");
        io.out(
          table(
            ["NAME", "WEIGHT", "HEIGHT", "MAX", "SCREENING", "SESSIONS"],
            rows.map((r) => [
              r.name,
              `${r.weightKg} kg`,
              `${r.heightCm} cm`,
              `${r.maxAngle}°`,
              r.screening.ok ? (r.screening.conditions.length ? r.screening.conditions.join(",") : "none") : r.screening.reason,
              String(r.sessions),
            ]),
          ),
        );
      });
    });

  profile
    .command("delete <NAME>")
    .description("delete a profile with its screening and session history")
    .addHelpText("after", `\nExamples:\n  invert profile delete bob\n  invert profile delete bob --yes      (also deletes bob's recorded sessions)`)
    .option("--yes", "confirm deleting a profile that has recorded sessions")
    .option("--json", "print the deleted profile as JSON")
    .action(async (name: string, o: { yes?: boolean; json?: boolean }) => {
      await withStore(io, (store) => {
        const p = store.profiles.get(name);
        const n = store.sessions.list({ profileId: p.id }).length;
        if (n > 0 && !o.yes) throw new UserError(`profile "${p.name}" has ${n} recorded session(s); add --yes to delete them with it`);
        store.profiles.delete(p.name);
        if (o.json) return io.out(json({ deleted: p, sessions: n }));
        io.out(`deleted profile ${p.name}${n ? ` and ${n} session(s)` : ""}\n`);
      });
    });
}

export function register(program: Command): void {
  registerWith(program, processIO());
}
