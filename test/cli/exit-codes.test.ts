import { describe, expect, it } from "vitest";
import { CommanderError } from "commander";
import { EXIT, EXIT_CODE_HELP, errorLine, exitCodeFor, exitForOutcome } from "../../src/cli/exit-codes.js";
import { ProgramError } from "../../src/programs/errors.js";
import { DeviceUriError } from "../../src/link/device-uri.js";
import { LinkError } from "../../src/link/device-link.js";
import { UserError } from "../../src/users/errors.js";
import { StoreError } from "../../src/store/errors.js";
import { EXIT as RUN_EXIT } from "../../src/cli/commands/run.js";

describe("exit codes", () => {
  it("session outcomes", () => {
    expect(exitForOutcome("completed")).toBe(0);
    expect(exitForOutcome("aborted")).toBe(1);
    expect(exitForOutcome("fault")).toBe(3);
    expect(exitForOutcome("refused")).toBe(4);
    for (const o of ["completed", "aborted", "fault", "refused"] as const) expect(RUN_EXIT[o]).toBe(exitForOutcome(o));
    // A device that never answered refused nothing for safety: a device error.
    expect(exitForOutcome("refused", true)).toBe(3);
    expect(exitForOutcome("completed", true)).toBe(0);
  });

  it("errors: bad input 2, device 3, an explicit code wins, anything else is internal", () => {
    expect(exitCodeFor(new ProgramError("step 1 (ramp).to: must be <= 90", []))).toBe(EXIT.usage);
    expect(exitCodeFor(new DeviceUriError("device: empty"))).toBe(EXIT.usage);
    expect(exitCodeFor(new UserError("unknown profile"))).toBe(EXIT.usage);
    expect(exitCodeFor(new StoreError("profile exists"))).toBe(EXIT.usage);
    expect(exitCodeFor(new LinkError("no caps", "handshake-timeout"))).toBe(EXIT.device);
    expect(exitCodeFor(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(EXIT.device);
    expect(exitCodeFor(Object.assign(new Error("refused"), { exitCode: 4 }))).toBe(4);
    expect(exitCodeFor(new TypeError("x is undefined"))).toBe(EXIT.internal);
    expect(exitCodeFor("a string")).toBe(EXIT.internal);
  });

  it("one line, a hint for internal errors, the stack only when verbose", () => {
    expect(errorLine(new ProgramError("bad.yaml: step 2 (pump).to: must be at most 90\nmore", []), false)).toBe("invert: bad.yaml: step 2 (pump).to: must be at most 90\n");
    expect(errorLine(new TypeError("boom"), false)).toBe("invert: boom (internal error; run with --verbose for details)\n");
    const v = errorLine(new TypeError("boom"), true);
    expect(v.startsWith("invert: boom\nTypeError: boom\n")).toBe(true);
    expect(v).toMatch(/\n\s+at /);
  });

  it("the help table lists every code", () => {
    for (const code of new Set(Object.values(EXIT))) expect(EXIT_CODE_HELP).toMatch(new RegExp(`^  ${code} `, "m"));
    expect(new CommanderError(1, "commander.unknownOption", "x").exitCode).toBe(1);
  });
});
