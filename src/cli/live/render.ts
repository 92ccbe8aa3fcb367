// What the terminal shows during `invert run`, as pure functions of the session's state: the plan
// preview before motion, the live area (redrawn in place a few times a second), and the summary.
// No I/O and no escape codes here, so every screen is unit-tested as plain lines.
import type { Plan } from "../../programs/plan.js";
import type { SessionSnapshot, SessionSummary } from "../../session/run-session.js";
import { clock, deg, fit, newtons } from "./format.js";

export interface LiveView {
  snap: SessionSnapshot;
  program: string;
  /** Device as shown to the user (password already redacted). */
  device: string;
  /** Simulator speed factor, when not real time. */
  speed?: number;
  /** Whether the keys are live (stdin is a terminal). */
  keys: boolean;
  /** Set after Ctrl-C: how many times it was pressed. */
  interrupts?: number;
  /** Terminal width in columns. */
  width: number;
}

/**
 * A horizontal gauge of `value` on [min, max]: filled up to the value, `|` at `mark` (e.g. the
 * horizontal, 0°) when it lies inside. Values outside the range pin to the ends with `<` / `>`.
 */
export function gauge(value: number, min: number, max: number, cells: number, mark?: number): string {
  const n = Math.max(4, Math.floor(cells));
  const span = max - min;
  const pos = (x: number) => (span <= 0 ? 0 : Math.round(((x - min) / span) * n));
  const filled = Math.min(n, Math.max(0, pos(value)));
  const m = mark !== undefined && mark > min && mark < max ? Math.min(n - 1, pos(mark)) : -1;
  let bar = "";
  for (let i = 0; i < n; i++) bar += i < filled ? "█" : i === m ? "|" : "·";
  const lo = value < min ? "<" : "[";
  const hi = value > max ? ">" : "]";
  return `${lo}${bar}${hi}`;
}

/** The return's stages (src/session/machine.ts) in the words shown to the user. */
export const RETURN_STAGES: Record<string, string> = {
  haltCheck: "stopping",
  halt: "stopping",
  releaseCheck: "releasing traction",
  release: "releasing traction",
  descendCheck: "down to horizontal",
  descend: "down to horizontal",
  restCheck: "resting near horizontal",
  rest: "resting near horizontal",
  toPauseCheck: "up to the pause angle",
  toPause: "up to the pause angle",
  pause: "pausing before the rise",
  riseCheck: "rising",
  rise: "rising",
  approachCheck: "slow final approach",
  approach: "slow final approach",
  device: "the device's own return",
  linkLost: "link lost: the device returns on its own",
  done: "upright",
};

function phaseTitle(s: SessionSnapshot): string {
  switch (s.phase) {
    case "connecting":
      return "CONNECTING";
    case "preflight":
      return "PREFLIGHT (checking switch, lock and limits)";
    case "running":
      return "RUNNING";
    case "paused":
      return s.pausedBy === "supervisor" ? "PAUSED by the safety supervisor" : "PAUSED (space to resume)";
    case "returning": {
      const sub = s.state.replace(/^returning\.?/, "");
      return `RETURNING slowly${sub ? ` (${RETURN_STAGES[sub] ?? sub})` : ""}`;
    }
    case "completed":
      return "COMPLETED";
    case "aborted":
      return "ENDED early";
    case "fault":
      return "ENDED on a device fault";
    case "refused":
      return "REFUSED before any motion";
  }
}

function linkText(s: SessionSnapshot): string {
  const l = s.link;
  const parts = [`link ${l.status}${l.stale ? " (telemetry stale)" : ""}`];
  if (l.rttMs !== undefined) parts.push(`rtt ${l.rttMs < 10 ? l.rttMs.toFixed(1) : Math.round(l.rttMs)} ms`);
  if (l.retries > 0) parts.push(`${l.retries} retries`);
  if (l.rxDrops > 0) parts.push(`${l.rxDrops} bad frames`);
  return parts.join(", ");
}

/** The live area: a handful of lines, each cut to the terminal width. */
export function renderLive(v: LiveView): string[] {
  const s = v.snap;
  const lines: string[] = [];
  const speed = v.speed !== undefined && v.speed !== 1 ? ` at ${v.speed}x` : "";
  lines.push(`invert · ${v.program} · ${v.device}${speed} · ${linkText(s)}`);

  let where = phaseTitle(s);
  if (s.step) where += ` · step ${s.step.index}${s.step.type ? ` ${s.step.type}` : ""}: ${s.step.label}`;
  if (s.cycle) where += ` · cycle ${s.cycle.k} of ${s.cycle.n}`;
  lines.push(where);

  const lim = s.limits;
  const cells = Math.max(10, Math.min(40, v.width - 44));
  if (s.tilt !== undefined && (lim === undefined || lim.axes.tilt)) {
    const lo = lim?.tiltMin ?? -80;
    const hi = lim?.tiltMax ?? 90;
    const side = s.tilt > 0.05 ? " head-down" : "";
    lines.push(`tilt  ${deg(s.tilt).padStart(7)}${side.padEnd(10)} ${deg(lo, 0)} ${gauge(s.tilt, lo, hi, cells, 0)} ${deg(hi, 0)} limit`);
  } else if (s.tilt === undefined) {
    lines.push("tilt  waiting for the device's telemetry");
  }
  if (s.force !== undefined && lim?.axes.traction) {
    lines.push(`force ${newtons(s.force).padStart(7)}${"".padEnd(10)} 0 N ${gauge(s.force, 0, lim.forceMax, cells)} ${newtons(lim.forceMax)} limit`);
  }

  const rem = s.remainingS === undefined ? "" : `  ·  about ${clock(s.remainingS)} left${s.phase === "running" || s.phase === "paused" ? " (with the slow return)" : ""}`;
  lines.push(`elapsed ${clock(s.elapsedS)}${rem}`);

  if (s.discomfort) lines.push("discomfort reported: stopping and returning slowly");
  else if (s.reason && s.phase === "returning") lines.push(`why: ${s.reason}`);
  if (v.interrupts && v.interrupts > 0) {
    lines.push(v.interrupts === 1 ? "Ctrl-C: stopping, returning slowly to upright; the command ends when the return is done" : "still returning slowly; the command ends once the table is upright");
  }
  if (v.keys && !isOver(s)) lines.push("keys: space pause/resume · s stop and return · p discomfort · Ctrl-C stop");
  return lines.map((l) => fit(l, v.width));
}

function isOver(s: SessionSnapshot): boolean {
  return s.phase === "completed" || s.phase === "aborted" || s.phase === "fault" || s.phase === "refused";
}

export interface PlanPreview {
  program: string;
  plan: Plan;
  /** Estimated slow return after the program, s. */
  returnS: number;
  /** The table moves (false for a stretcher-only program). */
  tilt: boolean;
}

/** A few lines shown before motion starts: steps, total time, max angle (and force). */
export function renderPlanPreview(p: PlanPreview, width: number, maxSteps = 8): string[] {
  const { plan } = p;
  const n = plan.steps.length;
  const peaks = [p.tilt ? `max angle ${deg(plan.maxAngle, 0)} at up to ${plan.maxSpeed.toFixed(1)}°/s` : "the table does not move"];
  if (plan.maxForce > 0) peaks.push(`max force ${newtons(plan.maxForce)}`);
  const head = `plan: ${p.program}: ${n} step${n === 1 ? "" : "s"}, ${clock(plan.totalS)} then about ${clock(p.returnS)} of slow return, ${peaks.join(", ")}`;
  // Too wide for one line: the peaks go on their own line rather than being cut off.
  const lines = [...head].length <= width ? [head] : [`plan: ${p.program}: ${n} step${n === 1 ? "" : "s"}, ${clock(plan.totalS)} then about ${clock(p.returnS)} of slow return`, `  ${peaks.join(", ")}`];
  for (const s of plan.steps.slice(0, maxSteps)) {
    const peak = p.tilt ? `max ${deg(s.maxTilt, 0)}` : `max ${newtons(s.maxForce)}`;
    lines.push(`  ${String(s.step).padStart(2)}. ${s.type.padEnd(8)} at ${clock(s.startS).padStart(5)} for ${clock(s.durationS).padEnd(6)} ${peak.padEnd(9)} ${s.label}`);
  }
  if (n > maxSteps) lines.push(`  ... and ${n - maxSteps} more step${n - maxSteps === 1 ? "" : "s"}`);
  return lines.map((l) => fit(l, width));
}

/** The summary printed when the session has ended. */
export function renderSummary(s: SessionSummary, width: number): string[] {
  const head = `session ${s.outcome}: ${s.program}`;
  const figures = [`duration ${clock(s.durationS)}`, `max angle ${deg(s.maxAngle)}`, `max speed ${s.maxSpeed.toFixed(1)}°/s`];
  if (s.maxForce > 0) figures.push(`max force ${newtons(s.maxForce)}`);
  const lines = [head, `  ${figures.join(" · ")}`];
  if (s.finalTilt !== undefined) {
    const upright = s.limits?.tiltMin;
    const at = upright !== undefined && Math.abs(s.finalTilt - upright) < 1 ? " (upright)" : "";
    lines.push(`  ended at ${deg(s.finalTilt)}${at}${s.finalForce !== undefined && s.limits?.axes.traction ? `, ${newtons(s.finalForce)}` : ""}`);
  }
  if (s.discomfort) lines.push(`  discomfort reported${s.discomfortKind ? ` (${s.discomfortKind})` : ""}: recorded, slow return done`);
  if (s.reason && s.outcome !== "completed") lines.push(`  why: ${s.reason}`);
  const l = s.link;
  const linkBits = [l.rttAvgMs !== undefined ? `rtt ${l.rttAvgMs.toFixed(1)} ms` : "", l.retries ? `${l.retries} retries` : "", l.lostAcks ? `${l.lostAcks} lost acks` : "", l.rxDrops ? `${l.rxDrops} bad frames` : "", l.losses ? `${l.losses} link losses` : ""].filter(Boolean);
  if (linkBits.length) lines.push(`  link: ${linkBits.join(", ")}`);
  const notable = s.events.filter((e) => e.kind !== "info" && e.code !== "END");
  if (notable.length) {
    lines.push(`  events:`);
    for (const e of notable.slice(-6)) lines.push(`    +${clock(e.atS)} ${e.code}: ${e.message}`);
  }
  return lines.map((x) => fit(x, width));
}
