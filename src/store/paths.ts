// Where profiles and history live. INVERT_HOME wins so tests, clinics with several installs and
// portable setups can point elsewhere; otherwise each platform's conventional per-user data location.
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface DataDirEnv {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

export function defaultDataDir(opts: DataDirEnv = {}): string {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const home = opts.home ?? homedir();
  if (env.INVERT_HOME) return env.INVERT_HOME;
  if (platform === "darwin") return join(home, "Library", "Application Support", "invert");
  if (platform === "win32") return join(env.APPDATA || join(home, "AppData", "Roaming"), "invert");
  return join(env.XDG_DATA_HOME || join(home, ".local", "share"), "invert");
}

/** Resolves the data directory and creates it if needed. */
export function ensureDataDir(dir?: string): string {
  const d = dir ?? defaultDataDir();
  mkdirSync(d, { recursive: true });
  return d;
}
