// The short text shown by `invert report SESSION` without --out.
import type { ReportData } from "./data.js";
import { maxOf } from "./extremes.js";

const f1 = (x: number) => (Math.round(x * 10) / 10).toString();

export function textSummary(d: ReportData): string {
  const s = d.session;
  const last = d.samples[d.samples.length - 1];
  // Session time, not wall time: a simulator session may run faster than real time.
  const reported = (s.summary as { durationS?: unknown } | null)?.durationS;
  const dur = typeof reported === "number" ? reported : last?.t;
  const maxTilt = d.samples.length ? maxOf(d.samples.map((x) => x.tilt)) : undefined;
  const forces = d.samples.map((x) => x.force).filter((x): x is number => typeof x === "number");
  const lines = [
    `session ${s.id}: ${s.programName} (${s.kind === "rampup" ? "ramp-up step" : "program"}) for ${s.profileName ?? "no profile"}`,
    `  started ${s.startedAt}, ${s.outcome ?? "still open"}${s.reason ? ` (${s.reason})` : ""}${dur !== undefined ? `, ${f1(dur)} s` : ""}`,
  ];
  // A stretcher has no angle: its telemetry's constant tilt is not a maximum the user reached.
  if (!d.limits.noTilt) {
    lines.push(
      `  angle: max ${maxTilt === undefined ? "-" : `${f1(maxTilt)}°`}` +
        (s.targetAngle !== null ? `, target ${s.targetAngle}°` : "") +
        (d.limits.tiltMax !== undefined ? `, limit ${d.limits.tiltMax}°` : ""),
    );
  }
  const maxForce = maxOf(forces);
  if (forces.length && maxForce > 0) lines.push(`  force: max ${f1(maxForce)} N${d.limits.forceMax !== undefined ? `, limit ${d.limits.forceMax} N` : ""}`);
  lines.push(`  ${d.samples.length} samples, ${d.events.length} events${s.discomfort ? ", discomfort reported" : ""}`);
  for (const e of d.events.slice(0, 12)) lines.push(`    ${f1(e.t).padStart(7)} s  ${e.kind}${e.code ? ` ${e.code}` : ""}${e.msg ? `: ${e.msg}` : ""}`);
  if (d.events.length > 12) lines.push(`    … ${d.events.length - 12} more (use --out FILE.json)`);
  return lines.join("\n") + "\n";
}
