// Options that do not apply are refused in one line naming them, not dropped without a word; and an
// error is blamed on the argument that is wrong.
import { describe, expect, it } from "vitest";
import { invert } from "./invert-process.js";

const oneLine = (err: string) => expect(err.trim().split("\n")).toHaveLength(1);

describe.concurrent("invert sim: flags of the other transport", () => {
  it.each([
    [["--serial", "/dev/null", "--id", "table-1"], /^invert: --id: only with --mqtt/],
    [["--serial", "/dev/null", "--username", "u"], /^invert: --username: only with --mqtt/],
    [["--mqtt", "mqtt://127.0.0.1:1", "--id", "t1", "--baud", "9600"], /^invert: --baud: only with --serial/],
    [["--serial", "/dev/null", "--baud", "0"], /^invert: --baud: expected a positive integer, got "0"/],
  ])("sim %j: exit 2 before opening anything", async (args, line) => {
    const r = await invert(["sim", ...args], { timeoutMs: 30_000 });
    expect(r.err).toMatch(line);
    oneLine(r.err);
    expect(r.code).toBe(2);
  });
});

describe.concurrent("run --profile with a bad program", () => {
  it("names the program, not --profile", async () => {
    const r = await invert(["run", "no-such-program", "--profile", "ann"]);
    expect(r.err).toMatch(/^invert: unknown program "no-such-program"/);
    oneLine(r.err);
    expect(r.code).toBe(2);
  });
});

describe.concurrent("report --profile", () => {
  it("is refused beside a session id, which it would not filter", async () => {
    const r = await invert(["report", "1", "--profile", "ann"]);
    expect(r.err).toMatch(/^invert: --profile: only with SESSION = last/);
    oneLine(r.err);
    expect(r.code).toBe(2);
  });
});
