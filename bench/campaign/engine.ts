// Runs many campaign sessions, in this process or spread over child processes (one per core), and
// tallies outcomes, injected faults by kind, and violations with the seed that replays each.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openStore, type Store } from "../../src/store/index.js";
import type { FaultKind } from "./fault-schedule.js";
import { runCampaignSessionSafe, type SessionResult } from "./run-session.js";
import type { Violation } from "./invariants.js";

export interface CampaignOptions {
  sessions: number;
  seed: number;
  /** 0 = in this process; default: one child process per core. */
  workers?: number;
  /** Record every session into a SQLite store and check it (default true). */
  history?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface SessionViolation {
  seed: number;
  program: string;
  faults: FaultKind[];
  violations: Violation[];
}

export interface CampaignReport {
  sessions: number;
  seed: number;
  workers: number;
  wallS: number;
  simS: number;
  samples: number;
  outcomes: Record<string, number>;
  faults: Partial<Record<FaultKind, number>>;
  violations: SessionViolation[];
}

/** Seed of the i-th session of a campaign: distinct per (campaign seed, index), stable across worker counts. */
export function sessionSeed(campaignSeed: number, i: number): number {
  let h = (Math.imul(campaignSeed >>> 0, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0 || 1;
}

/** Compact per-session record sent from a worker. */
export type WorkerResult = Pick<SessionResult, "seed" | "program" | "outcome" | "faults" | "violations" | "simS" | "samples">;

/** Sessions recorded per store before a fresh one is started (bounds the temp database size). */
const STORE_ROTATE = 100;

export class RotatingStore {
  private store: Store | undefined;
  private dir: string | undefined;
  private used = 0;
  get(): Store {
    if (!this.store || this.used >= STORE_ROTATE) {
      this.close();
      this.dir = mkdtempSync(join(tmpdir(), "invert-campaign-"));
      this.store = openStore(this.dir);
      this.used = 0;
    }
    this.used++;
    return this.store;
  }
  close(): void {
    this.store?.close();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.store = undefined;
    this.dir = undefined;
  }
}

function tally(report: CampaignReport, r: WorkerResult): void {
  report.simS += r.simS;
  report.samples += r.samples;
  report.outcomes[r.outcome] = (report.outcomes[r.outcome] ?? 0) + 1;
  for (const f of r.faults) report.faults[f] = (report.faults[f] ?? 0) + 1;
  if (r.violations.length) report.violations.push({ seed: r.seed, program: r.program, faults: r.faults, violations: r.violations });
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  const workers = Math.max(0, Math.min(opts.workers ?? availableParallelism(), opts.sessions));
  const history = opts.history ?? true;
  const t0 = performance.now();
  const report: CampaignReport = { sessions: 0, seed: opts.seed, workers, wallS: 0, simS: 0, samples: 0, outcomes: {}, faults: {}, violations: [] };
  const seeds = Array.from({ length: opts.sessions }, (_, i) => sessionSeed(opts.seed, i));
  const onResult = (r: WorkerResult): void => {
    tally(report, r);
    report.sessions++;
    opts.onProgress?.(report.sessions, opts.sessions);
  };
  if (workers === 0) {
    const stores = history ? new RotatingStore() : undefined;
    try {
      for (const s of seeds) onResult(await runCampaignSessionSafe(s, stores ? { store: stores.get() } : {}));
    } finally {
      stores?.close();
    }
  } else {
    await runInChildren(seeds, workers, history, onResult);
  }
  report.violations.sort((a, b) => a.seed - b.seed);
  report.wallS = (performance.now() - t0) / 1000;
  return report;
}

/** Work is handed out in small batches so both cores stay busy until the end. */
const BATCH = 10;

function runInChildren(seeds: number[], workers: number, history: boolean, onResult: (r: WorkerResult) => void): Promise<void> {
  const script = fileURLToPath(new URL("./worker.ts", import.meta.url));
  let next = 0;
  return new Promise((resolve, reject) => {
    let live = workers;
    let failed = false;
    for (let w = 0; w < workers; w++) {
      const child = fork(script, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"], env: { ...process.env, CAMPAIGN_HISTORY: history ? "1" : "0" } });
      const feed = (): void => {
        if (next >= seeds.length) {
          child.send({ type: "end" });
          return;
        }
        const batch = seeds.slice(next, next + BATCH);
        next += batch.length;
        child.send({ type: "run", seeds: batch });
      };
      child.on("message", (m: { type: "result"; result: WorkerResult } | { type: "idle" }) => {
        if (m.type === "result") onResult(m.result);
        else feed();
      });
      child.on("exit", (code) => {
        live--;
        if (code !== 0 && !failed) {
          failed = true;
          reject(new Error(`campaign worker exited with code ${code}`));
        }
        if (live === 0 && !failed) resolve();
      });
      feed();
    }
  });
}
