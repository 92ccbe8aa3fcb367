// How the fleet bench schedules its simulated devices against the processes it measures.
//
// Real devices are microcontrollers of their own: they never take a core away from the bridge or the
// broker. On one bench machine they must share its cores, so by default the simulators run in Linux's
// idle scheduling class (SCHED_IDLE, through `chrt --idle 0`): they get every cycle the bridge, the broker
// and the bench client leave over, and yield the core as soon as one of those wakes. This keeps the load
// generator from queueing in front of the system under test, the way a load test on separate machines
// would; it does not shrink the load. Whether the devices still keep their 10 Hz is measured and judged
// (fleet-target.ts), so a machine that cannot spare them the cycles misses the target on telemetry
// instead of hiding it. `normal` keeps the earlier setting, where every process competes alike.
import { readFileSync } from "node:fs";

export type SimSched = "idle" | "normal";
export const SIM_SCHEDS: readonly SimSched[] = ["idle", "normal"];

/** Linux scheduling policies, as /proc/<pid>/stat reports them (field 41). */
const POLICY_NAMES: Record<number, string> = { 0: "normal", 1: "fifo", 2: "rr", 3: "batch", 5: "idle", 6: "deadline" };

/** The command that starts `command args` under the asked scheduling; chrt is util-linux's, absent elsewhere. */
export function simLaunch(sched: SimSched, command: string, args: readonly string[], chrt: string | undefined): { command: string; args: string[] } {
  if (sched === "idle" && chrt !== undefined) return { command: chrt, args: ["--idle", "0", command, ...args] };
  return { command, args: [...args] };
}

/** The scheduling policy in the text of a /proc/<pid>/stat file ("idle", "normal", ...). */
export function policyFromStat(stat: string): string {
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).trim().split(" ");
  const policy = Number(fields[41 - 3]);
  if (!Number.isInteger(policy)) throw new Error("unreadable /proc stat: no scheduling policy field");
  return POLICY_NAMES[policy] ?? `policy ${policy}`;
}

/** The scheduling policy a running process has, or undefined when /proc cannot say (not Linux, gone). */
export function policyOf(pid: number): string | undefined {
  try {
    return policyFromStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}
