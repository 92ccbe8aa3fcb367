// Reliability campaign: random programs x random faults in virtual time, safety invariants on every
// physics step, history checked in SQLite. A violation fails the run (exit 1) and prints its seed.
//
//   npm run campaign -- --sessions 10000 --seed 1 [--workers 2] [--no-history] [--json]
//   npm run campaign -- --replay <session seed> [--trace FROM:TO]   (one session, described step by step)
import { Command } from "commander";
import { runCampaign } from "./campaign/engine.js";
import { formatReport } from "./campaign/report.js";
import { runCampaignSession } from "./campaign/run-session.js";

function intArg(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name}: must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name("campaign")
    .option("--sessions <n>", "sessions to run", intArg("--sessions", 1), 1000)
    .option("--seed <s>", "campaign seed", intArg("--seed", 0), 1)
    .option("--workers <n>", "child processes (0 = in this process; default one per core)", intArg("--workers", 0))
    .option("--no-history", "skip recording sessions into SQLite")
    .option("--json", "print the report as JSON")
    .option("--replay <seed>", "run one session by its seed and describe it", intArg("--replay", 0))
    .option("--trace <from:to>", "with --replay: print ground truth between these simulated seconds")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv, { from: "user" });
  } catch (e) {
    return (e as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  const o = program.opts<{ sessions: number; seed: number; workers?: number; history: boolean; json?: boolean; replay?: number; trace?: string }>();
  if (o.replay !== undefined) {
    const [from, to] = o.trace === undefined ? [] : o.trace.split(":").map(Number);
    let n = 0;
    const r = await runCampaignSession(o.replay, {
      verbose: (l) => console.log(l),
      trace: (s) => {
        if (from === undefined || Number.isNaN(from) || s.t < from * 1000 || s.t > (to ?? Infinity) * 1000 || n++ % 10) return;
        console.log(`  t=${(s.t / 1000).toFixed(2)} tilt ${s.tilt.toFixed(2)} vel ${s.vel.toFixed(2)} force ${s.force.toFixed(0)} ${s.mode} ${s.ret ?? ""} [${s.faults.join(",")}]`);
      },
    });
    console.log(`outcome ${r.outcome}, ${r.simS.toFixed(1)} s simulated, ${r.violations.length} violation(s)`);
    for (const v of r.violations) console.log(`  ${v.kind}: ${v.message}`);
    return r.violations.length ? 1 : 0;
  }
  let shown = 0;
  const report = await runCampaign({
    sessions: o.sessions,
    seed: o.seed,
    history: o.history,
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    onProgress: (done, total) => {
      if (o.json || !process.stderr.isTTY) return;
      const pct = Math.floor((done / total) * 100);
      if (pct !== shown) {
        shown = pct;
        process.stderr.write(`\r  ${done}/${total} sessions`);
      }
    },
  });
  if (!o.json && process.stderr.isTTY) process.stderr.write("\n");
  console.log(o.json ? JSON.stringify(report) : formatReport(report));
  return report.violations.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`campaign: ${(err as Error)?.message ?? String(err)}`);
    process.exitCode = 2;
  },
);
