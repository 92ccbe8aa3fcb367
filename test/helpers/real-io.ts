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

export type RealIoPlan = { kind: "run" } | { kind: "fail"; message: string } | { kind: "skip"; reason: string };

/** What to do with a suite that needs `tools`: run it, fail loudly (CI), or skip with a reason. */
export function planRealIo(tools: readonly string[], required: boolean, has: (t: string) => boolean = hasTool): RealIoPlan {
  const missing = tools.filter((t) => !has(t));
  if (missing.length === 0) return { kind: "run" };
  const list = missing.join(", ");
  if (required) return { kind: "fail", message: `REQUIRE_REAL_IO=1 but ${list} not installed (searched PATH and ${EXTRA_DIRS.join(", ")})` };
  return { kind: "skip", reason: `${list} not installed` };
}

/**
 * `describe(title, fn)` when every tool is installed. Otherwise: a failing test when REQUIRE_REAL_IO=1,
 * else a skipped suite whose title names the missing tools, plus one warning line.
 */
export function describeIfTool(tools: readonly string[], title: string, fn: () => void): void {
  const plan = planRealIo(tools, realIoRequired());
  if (plan.kind === "run") {
    describe(title, fn);
  } else if (plan.kind === "fail") {
    describe(title, () => {
      it(`requires ${tools.join(", ")}`, () => {
        throw new Error(plan.message);
      });
    });
  } else {
    console.warn(`[real-io] skipping "${title}": ${plan.reason}`);
    describe.skip(`${title} (skipped: ${plan.reason})`, fn);
  }
}
