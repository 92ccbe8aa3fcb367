// The fleet bench runs its simulated devices in the idle scheduling class, and reports the class it read
// back rather than the one it asked for: a figure taken with the devices competing for the cores must not
// pass for one taken with them yielding.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { policyFromStat, policyOf, simLaunch } from "../../bench/sim-priority.js";
import { describeIfTool, toolPath } from "../helpers/real-io.js";

/** A /proc/<pid>/stat line with the given command name and policy in field 41. */
function statLine(comm: string, policy: number): string {
  const after = Array.from({ length: 50 }, (_, i) => String(i + 3));
  after[0] = "S";
  after[41 - 3] = String(policy);
  return `1234 (${comm}) ${after.join(" ")}`;
}

describe("fleet bench: simulators' scheduling", () => {
  it("idle runs the simulators through chrt --idle 0; normal, or no chrt, runs them as they are", () => {
    expect(simLaunch("idle", "node", ["sims.js", "--count", "3"], "/bin/chrt")).toEqual({
      command: "/bin/chrt",
      args: ["--idle", "0", "node", "sims.js", "--count", "3"],
    });
    expect(simLaunch("normal", "node", ["sims.js"], "/bin/chrt")).toEqual({ command: "node", args: ["sims.js"] });
    expect(simLaunch("idle", "node", ["sims.js"], undefined)).toEqual({ command: "node", args: ["sims.js"] });
  });

  it("reads the policy from field 41 of /proc stat, whatever the command name holds", () => {
    expect(policyFromStat(statLine("node", 5))).toBe("idle");
    expect(policyFromStat(statLine("node", 0))).toBe("normal");
    expect(policyFromStat(statLine("a (b) c", 3))).toBe("batch");
    expect(policyFromStat(statLine("x", 9))).toBe("policy 9");
    expect(() => policyFromStat("1234 (node) S 1 2")).toThrow(/scheduling policy/);
  });

  it.runIf(process.platform === "linux")("reads this process's own policy", () => {
    expect(policyOf(process.pid)).toBe(policyFromStat(readFileSync("/proc/self/stat", "utf8")));
    expect(policyOf(2 ** 22 + 1)).toBeUndefined();
  });
});

describeIfTool(["chrt"], "fleet bench: simulators really run in the idle class", () => {
  it("a child started the way the bench starts its simulators reports SCHED_IDLE, and its threads too", async () => {
    const { command, args } = simLaunch("idle", process.execPath, ["-e", "console.log('up'); setTimeout(() => {}, 10000)"], toolPath("chrt"));
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
    try {
      // Once node prints, chrt has set the policy and exec'd it: the pid is node's.
      await new Promise<void>((resolve, reject) => {
        child.stdout.once("data", () => resolve());
        child.once("exit", (code) => reject(new Error(`child exited with ${code}`)));
      });
      expect(readFileSync(`/proc/${child.pid}/comm`, "utf8").trim()).toBe("node");
      expect(policyOf(child.pid!)).toBe("idle");
      // V8's and libuv's threads start after the exec, so they inherit the class.
      const tasks = readdirSync(`/proc/${child.pid}/task`);
      expect(tasks.length).toBeGreaterThan(1);
      expect(tasks.map((t) => policyFromStat(readFileSync(`/proc/${child.pid}/task/${t}/stat`, "utf8")))).toEqual(tasks.map(() => "idle"));
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("normal leaves the child in the normal class", async () => {
    const { command, args } = simLaunch("normal", process.execPath, ["-e", "console.log('up'); setTimeout(() => {}, 10000)"], toolPath("chrt"));
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
      expect(policyOf(child.pid!)).toBe("normal");
    } finally {
      child.kill("SIGKILL");
    }
  });
});
