// Bad input reaching the real command: one `invert:` line naming what is wrong and a bad-input or
// device exit code, never 70 (internal error).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EXIT, exitCodeFor } from "../../src/cli/exit-codes.js";
import { invert, tempHome } from "./invert-process.js";

const posix = process.platform !== "win32";

describe("errno codes of a path that is not a serial port", () => {
  it.each(["ENOTTY", "ENXIO", "ENODEV", "EISDIR", "ENOTDIR"])("%s is a device error", (code) => {
    expect(exitCodeFor(Object.assign(new Error(`serial /x: cannot open: ${code}`), { name: "SerialError", code }))).toBe(EXIT.device);
  });
});

describe.concurrent("the installed command on bad input", () => {
  it.runIf(posix)("sim --serial /dev/null: not a tty is a device error (exit 3), not an internal one", async () => {
    const r = await invert(["sim", "--serial", "/dev/null"]);
    expect(r.err).toMatch(/^invert: serial \/dev\/null: cannot open: Inappropriate ioctl for device/);
    expect(r.err).not.toMatch(/internal error/);
    expect(r.code).toBe(3);
  });

  it.runIf(posix)("profile create --device serial:/dev/null: exit 3", async () => {
    const r = await invert(["profile", "create", "cy", "--weight", "68", "--height", "170", "--device", "serial:/dev/null"]);
    expect(r.err).toMatch(/^invert: serial \/dev\/null: cannot open: /);
    expect(r.code).toBe(3);
  });

  it("profile create --device with a broken %-escape: one line naming the part, exit 2", async () => {
    const r = await invert(["profile", "create", "bob", "--weight", "68", "--height", "170", "--device", "mqtt://host/%E0%A4%A"]);
    expect(r.err).toMatch(/^invert: device "mqtt:\/\/host\/%E0%A4%A": device id has an invalid %-escape/);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.code).toBe(2);
  });

  it("profile create --weight 0x40 is not 64 kg", async () => {
    const r = await invert(["profile", "create", "hex", "--weight", "0x40", "--height", "170"]);
    expect(r.err).toBe('invert: --weight: "0x40" is not a number (kg)\n');
    expect(r.code).toBe(2);
  });

  it("run with a YAML alias bomb names the file, exit 2", async () => {
    const home = tempHome();
    const lines = ["name: bomb", "a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const [name, prev] of [["b", "a"], ["c", "b"], ["d", "c"], ["e", "d"], ["f", "e"], ["g", "f"]]) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    const file = join(home, "alias.yaml");
    writeFileSync(file, `${lines.join("\n")}\nsteps: [{type: hold, seconds: 1}]\n`);
    const r = await invert(["run", file, "--speed", "50"], { home });
    expect(r.err).toContain(`${file}: invalid YAML: Excessive alias count`);
    expect(r.err).not.toMatch(/connecting|internal error/);
    expect(r.code).toBe(2);
  });

  it.each([["foo:bar"], ["serial:/dev/ttyS0?baud=7"], ["mqtt://h/%E0%A4%A"]])(
    "bridge --device %s exits 2 at once instead of retrying it forever",
    async (device) => {
      // No broker is needed: the device list is checked before the bridge connects anywhere.
      const r = await invert(["bridge", "--mqtt", "mqtt://127.0.0.1:1", "--device", device], { timeoutMs: 30_000 });
      expect(r.err).toMatch(/^invert: --device: device "/);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.code).toBe(2);
    },
  );
});
