// Replacing a file the user keeps (a report, an export) must never leave it half-written: on a full
// disk, writing in place truncates the old file first and then fails, destroying both versions.
import { closeSync, fsyncSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";

const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  EIO: "input/output error",
};

/** An fs error in words, with its code for searching: "no space left on device (ENOSPC)". */
export function fsErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === "string") return ERRNO_WORDS[code] ? `${ERRNO_WORDS[code]} (${code})` : code;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Writes `data` to a temporary file beside `target` (same folder, so the same filesystem), flushes it
 * and renames it over `target`: the target is either the old file or the complete new one. The
 * temporary file is removed when anything fails, and the error is rethrown.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  let dest = target;
  let mode = 0o666;
  try {
    // Through a symlink, replace the file it points to (not the link); keep the old file's permissions.
    dest = realpathSync(target);
    mode = statSync(dest).mode & 0o7777;
  } catch {
    // No such file yet: created with the usual permissions.
  }
  const tmp = join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", mode);
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, dest);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Already failing; the original error is the one to report.
      }
    }
    rmSync(tmp, { force: true });
    throw err;
  }
}
