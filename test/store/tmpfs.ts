// A small tmpfs for tests that need a real read-only medium or a real full disk (SQLite and the fs
// behave differently there than any injected failure shows). Mounting needs root on Linux: elsewhere
// the suite is skipped with a visible reason; with REQUIRE_REAL_IO=1 a root that cannot mount fails.
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";
import { realIoRequired } from "../helpers/real-io.js";

export interface Tmpfs {
  readonly dir: string;
  readOnly(): void;
  writable(): void;
  /** Fills the free space with a file, so that any further write gets ENOSPC. */
  fill(): void;
  /** Removes what fill() wrote. */
  unfill(): void;
  unmount(): void;
}

function run(args: string[]): void {
  execFileSync(args[0], args.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
}

export function mountTmpfs(sizeKb: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), "invert-tmpfs-"));
  try {
    run(["mount", "-t", "tmpfs", "-o", `size=${sizeKb}k,mode=0755`, "tmpfs", dir]);
  } catch (err) {
    rmdirSync(dir);
    throw err;
  }
  const filler = join(dir, "filler");
  return {
    dir,
    readOnly: () => run(["mount", "-o", "remount,ro", dir]),
    writable: () => run(["mount", "-o", "remount,rw", dir]),
    fill() {
      const fd = openSync(filler, "a");
      const chunk = Buffer.alloc(4096);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
      } finally {
        closeSync(fd);
      }
    },
    unfill: () => rmSync(filler, { force: true }),
    unmount() {
      try {
        run(["umount", dir]);
      } catch {
        // Still busy (a database a failed test left open): detach it now, freed once closed.
        run(["umount", "-l", dir]);
      }
      rmdirSync(dir);
    },
  };
}

/** Why tmpfs tests cannot run here, or undefined when they can. */
function cannotMount(): string | undefined {
  if (process.platform !== "linux") return "needs Linux to mount a tmpfs";
  if (process.getuid?.() !== 0) return "needs root to mount a tmpfs";
  try {
    mountTmpfs(64).unmount();
    return undefined;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return `cannot mount a tmpfs: ${stderr || (err as Error).message}`;
  }
}

/** `describe` when a tmpfs can be mounted; otherwise a skipped suite naming why (a failure in CI as root). */
export function describeWithTmpfs(title: string, fn: () => void): void {
  const reason = cannotMount();
  if (reason === undefined) {
    describe(title, fn);
  } else if (realIoRequired() && process.getuid?.() === 0) {
    describe(title, () => {
      it("mounts a tmpfs", () => {
        throw new Error(`REQUIRE_REAL_IO=1 but ${reason}`);
      });
    });
  } else {
    console.warn(`[tmpfs] skipping "${title}": ${reason}`);
    describe.skip(`${title} (skipped: ${reason})`, fn);
  }
}
