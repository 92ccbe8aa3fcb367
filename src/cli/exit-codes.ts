// The exit codes of every `invert` command, in one place (README "Exit codes" mirrors this table), and
// the mapping from a thrown error to its code. Scripts and the bridge's callers rely on these numbers,
// so they only ever grow.

export const EXIT = {
  /** Done: the session completed, or the command did what was asked. */
  ok: 0,
  /** A session ran but did not complete: stopped, discomfort, supervisor abort, returned early. */
  notCompleted: 1,
  /** Bad flag or argument, invalid program, profile or config file, unknown name. */
  usage: 2,
  /** The device or link failed: cannot open or reach it, handshake refused, a device fault ended the session. */
  device: 3,
  /** Refused for safety before any motion: limits, screening, ramp-up cap, device rating. */
  refused: 4,
  /** Unexpected internal error (a bug): please report it with the --verbose output. */
  internal: 70,
  /** Interrupted by Ctrl-C (after the slow return has finished or been handed to the device). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** One line per code, for `--help` texts and the README. */
export const EXIT_CODE_HELP = `Exit codes:
  0    completed / ok
  1    the session ended without completing (stop, discomfort, safety return)
  2    bad input: flag, argument, program, profile or config file
  3    device or link error (cannot connect, handshake refused, device fault)
  4    refused for safety before any motion (limits, screening, ramp-up)
  130  interrupted with Ctrl-C (only after the slow return)
  70   internal error (run with --verbose and report it)`;

/**
 * Session outcome -> exit code (src/session/run-session.ts SessionSummary.outcome). A refusal caused by
 * the link (no answer to the handshake, no telemetry, limits not taken) is a device error, not a safety
 * refusal.
 */
export function exitForOutcome(outcome: "completed" | "aborted" | "fault" | "refused", refusedByDevice = false): ExitCode {
  if (outcome === "refused" && refusedByDevice) return EXIT.device;
  switch (outcome) {
    case "completed":
      return EXIT.ok;
    case "aborted":
      return EXIT.notCompleted;
    case "fault":
      return EXIT.device;
    case "refused":
      return EXIT.refused;
  }
}

/**
 * Errors whose message is already one line a user can act on, as bad input. Matched by name rather
 * than instanceof so that this module loads nothing (`invert --help` stays fast).
 */
const USAGE_ERRORS = new Set([
  "UserError",
  "StoreError",
  "ProgramError",
  "ProgramsCliError",
  "DeviceUriError",
  "LimitsError",
  "SimConfigError",
  "FlagError",
  "BridgeConfigError",
  "CommanderError",
  "RunError",
]);

/**
 * System error codes that mean "the device or broker is not there / not reachable". The second line is
 * what opening a path that is no serial port gives: a file or /dev/null (ENOTTY), a directory, a path
 * through a file, a device node without its device.
 */
const DEVICE_ERRNOS = new Set([
  "ENOENT", "EACCES", "EBUSY", "ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EPIPE", "EIO",
  "ENOTTY", "ENXIO", "ENODEV", "EISDIR", "ENOTDIR",
]);

/** The exit code for an error thrown out of a command. */
export function exitCodeFor(err: unknown): ExitCode | number {
  if (err === null || typeof err !== "object") return EXIT.internal;
  const e = err as { exitCode?: unknown; name?: unknown; code?: unknown };
  if (typeof e.exitCode === "number" && Number.isInteger(e.exitCode)) return e.exitCode;
  if (e.name === "LinkError") return EXIT.device;
  if (typeof e.name === "string" && USAGE_ERRORS.has(e.name)) return EXIT.usage;
  if (typeof e.code === "string" && DEVICE_ERRNOS.has(e.code)) return EXIT.device;
  return EXIT.internal;
}

/**
 * The one line printed for an error: `invert: <message>`. With verbose, the stack follows. Internal
 * errors (bugs) say how to get the stack.
 */
export function errorLine(err: unknown, verbose: boolean): string {
  const msg = err instanceof Error ? err.message : String(err);
  const oneLine = msg.split("\n")[0].trim() || (err instanceof Error ? err.name : "error");
  if (verbose && err instanceof Error && err.stack) return `invert: ${oneLine}\n${err.stack}\n`;
  const hint = exitCodeFor(err) === EXIT.internal ? " (internal error; run with --verbose for details)" : "";
  return `invert: ${oneLine}${hint}\n`;
}
