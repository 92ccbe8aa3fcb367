// End to end over a real pseudo-terminal pair (socat): the standalone simulator process on one end, the
// `invert run` command on the other. Also: the companion killed with SIGKILL mid-session, after which the
// simulator's own watchdog must bring the table upright (seen in its --trace file).
import { afterEach, beforeEach, expect, it } from "vitest";
import { describeIfTool } from "../helpers/real-io.js";
import { openPtyPair, type PtyPair } from "../helpers/socat.js";
import { waitFor } from "../helpers/wait.js";
import { invert, readTrace, startSim, workdir, QUICK_SIM_CONFIG, SHORT_PROGRAM, type Child, type Workdir } from "./procs.js";

describeIfTool(["socat"], "end to end over a socat pseudo-terminal", () => {
  let pty: PtyPair;
  let wd: Workdir;
  let sim: Child | undefined;
  let companion: Child | undefined;

  beforeEach(async () => {
    pty = await openPtyPair();
    wd = workdir();
  });
  afterEach(async () => {
    await companion?.end("SIGKILL");
    await sim?.end("SIGTERM");
    companion = sim = undefined;
    await pty.close();
    wd.cleanup();
  });

  it("runs a complete session with `invert run --device serial:...` and prints the summary as JSON", async () => {
    const trace = wd.file("trace.jsonl");
    sim = await startSim(["--serial", pty.a, "--config", wd.file("sim.json", JSON.stringify(QUICK_SIM_CONFIG)), "--trace", trace]);
    companion = invert(["run", wd.file("short.json", JSON.stringify(SHORT_PROGRAM)), "--device", `serial:${pty.b}`, "--json"]);
    const code = await companion.exited;
    expect(code, companion.stderr()).toBe(0);
    const summary = JSON.parse(companion.stdout()) as { outcome: string; program: string; maxAngle: number; events: { code: string }[]; link: { rxFrames: number } };
    expect(summary.outcome).toBe("completed");
    expect(summary.program).toBe("e2e-short");
    expect(summary.maxAngle).toBeGreaterThan(-17.6);
    expect(summary.maxAngle).toBeLessThan(-16.4);
    expect(summary.link.rxFrames).toBeGreaterThan(50);
    // The device really moved and came back, by its own telemetry.
    const tlm = readTrace(trace).filter((l) => l.type === "tlm");
    expect(Math.max(...tlm.map((t) => t.tilt ?? -99))).toBeGreaterThan(-17.6);
    expect(tlm[tlm.length - 1].tilt).toBeLessThan(-19.5);
  });

  it("a companion killed with SIGKILL mid-session leaves the table to the watchdog, which brings it upright", async () => {
    const trace = wd.file("trace.jsonl");
    sim = await startSim(["--serial", pty.a, "--config", wd.file("sim.json", JSON.stringify(QUICK_SIM_CONFIG)), "--trace", trace]);
    const program = { name: "e2e-long", steps: [{ type: "ramp", to: 4, speed: 10 }, { type: "hold", seconds: 120 }] };
    companion = invert(["run", wd.file("long.json", JSON.stringify(program)), "--device", `serial:${pty.b}`]);
    // Head-down and holding: a real event in the device's own telemetry.
    await waitFor(() => readTrace(trace).some((l) => l.type === "tlm" && (l.tilt ?? -99) > 3.5 && l.mode === "holding"), 30_000, "the table to hold head-down");
    const killedAt = Date.now();
    companion.proc.kill("SIGKILL");
    await companion.exited;
    await waitFor(() => readTrace(trace).some((l) => l.type === "evt" && l.code === "RETURN_DONE"), 60_000, "the firmware's return to finish");
    const lines = readTrace(trace);
    const events = lines.filter((l) => l.type === "evt").map((l) => l.code);
    expect(events).toContain("WATCHDOG");
    const after = lines.filter((l) => l.type === "tlm" && l.ts >= killedAt);
    const last = after[after.length - 1];
    expect(last.tilt).toBeLessThan(-19.5);
    // Slowly: never faster than the return speed, and at most 1 deg/s over the last degrees.
    expect(Math.max(...after.map((t) => Math.abs(t.vel ?? 0)))).toBeLessThanOrEqual(4.05);
    expect(after.filter((t) => (t.tilt ?? 0) < -17.5 && Math.abs(t.vel ?? 0) > 1.05)).toEqual([]);
  });
});
