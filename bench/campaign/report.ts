// The campaign report as people read it: totals, faults by kind, each violation with its replay seed.
import { FAULT_KINDS } from "./fault-schedule.js";
import type { CampaignReport } from "./engine.js";

export function formatReport(r: CampaignReport): string {
  const lines: string[] = [];
  lines.push(`campaign seed ${r.seed}: ${r.sessions} sessions on ${r.workers || 1} process(es) in ${r.wallS.toFixed(1)} s wall`);
  lines.push(`  simulated ${(r.simS / 3600).toFixed(1)} h (${(r.simS / Math.max(r.wallS, 1e-9)).toFixed(0)}x real time), ${r.samples} telemetry samples recorded`);
  lines.push(`  outcomes: ${Object.entries(r.outcomes).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  lines.push(`  faults injected: ${FAULT_KINDS.map((k) => `${k} ${r.faults[k] ?? 0}`).join(", ")}`);
  lines.push(`  violations: ${r.violations.length} session(s)`);
  for (const v of r.violations.slice(0, 50)) {
    lines.push(`    seed ${v.seed} (${v.program}; faults ${v.faults.join(",")}): replay with --replay ${v.seed}`);
    for (const x of v.violations) lines.push(`      ${x.kind}: ${x.message.split("\n")[0]}`);
  }
  if (r.violations.length > 50) lines.push(`    ... ${r.violations.length - 50} more`);
  return lines.join("\n");
}
