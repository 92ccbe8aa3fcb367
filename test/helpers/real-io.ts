// Real-I/O tests (socat pseudo-terminals, a mosquitto broker) depend on tools outside node_modules.
// On a developer machine without them the suite skips those tests with a visible reason; in CI
// (REQUIRE_REAL_IO=1) a missing tool is a failure, so a green CI run always means they ran.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { describe, it } from "vitest";

/** Folders searched besides PATH: mosquitto installs into sbin, which is often not on a user's PATH. */
const EXTRA_DIRS = ["/usr/sbin", "/usr/local/sbin", "/sbin"];

/** Absolute path of an executable named `name`, or undefined when it is not installed. */
export function toolPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

export function hasTool(name: string): boolean {
  return toolPath(name) !== undefined;
}

export function realIoRequired(): boolean {
  return process.env.REQUIRE_REAL_IO === "1";
}

/**
 * `describe(title, fn)` when every tool is installed. Otherwise: a failing test when REQUIRE_REAL_IO=1,
 * else a skipped suite whose title names the missing tools, plus one warning line.
 */
export function describeIfTool(tools: readonly string[], title: string, fn: () => void): void {
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length === 0) {
    describe(title, fn);
    return;
  }
  const list = missing.join(", ");
  if (realIoRequired()) {
    describe(title, () => {
      it(`requires ${list}`, () => {
        throw new Error(`REQUIRE_REAL_IO=1 but ${list} not installed (searched PATH and ${EXTRA_DIRS.join(", ")})`);
      });
    });
    return;
  }
  console.warn(`[real-io] skipping "${title}": ${list} not installed`);
  describe.skip(`${title} (skipped: ${list} not installed)`, fn);
}
