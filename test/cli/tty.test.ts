// `invert run` on a real terminal (a tmux pseudo-terminal): the live view shows the session, the keys
// act on it, and Ctrl-C never ends the command before the slow return is done.
import { expect, it } from "vitest";
import { describeIfTool } from "../helpers/real-io.js";
import { BIN, REPO, tempHome } from "./invert-process.js";
import { startInTmux, type TmuxPane } from "./tmux.js";

describeIfTool(["tmux"], "invert run on a terminal (tmux)", () => {
  // Each test owns its pane (the tests run concurrently, each on its own tmux server).
  const withRun = async (args: string[], fn: (t: TmuxPane) => Promise<void>) => {
    const pane = await startInTmux([process.execPath, BIN, "run", ...args], { cwd: REPO, env: { INVERT_HOME: tempHome() } });
    try {
      await fn(pane);
    } finally {
      await pane.close();
    }
  };

  // Holding at 20° head-down: a return from here descends, rests at horizontal and rises, so it lasts
  // long enough (about 100 s of session time) to be watched.
  const HOLDING = /RUNNING · step 2 hold/;

  it.concurrent("shows the plan, then the live view; p reports discomfort and the table returns slowly", async () => {
    await withRun(["--speed", "20"], async (t) => {
    const first = await t.waitFor(HOLDING, 30_000);
    expect(first).toMatch(/plan: beginner: 2 steps/);
    expect(first).toMatch(/tilt +\d+\.\d° head-down +-80° \[█+[·|]*\] \d+° limit/);
    expect(first).toMatch(/keys: space pause\/resume · s stop and return · p discomfort/);
    expect(first).toMatch(/link up/);
    await t.send("p");
    const back = await t.waitFor(/RETURNING slowly/, 10_000);
    expect(back).toMatch(/discomfort \(pain\) reported: stopping and returning slowly/);
    expect(back).toMatch(/discomfort reported: stopping and returning slowly/);
    const end = await t.waitFor(/EXIT=\d+/, 30_000);
    expect(end).toMatch(/session aborted: beginner/);
    expect(end).toMatch(/discomfort reported \(pain\): recorded/);
    expect(end).toMatch(/ended at -\d+\.\d° \(upright\)/);
    expect(end).toMatch(/EXIT=1\b/);
    });
  });

  it.concurrent("a second Ctrl-C says it is still returning and the command ends only once upright (exit 130)", async () => {
    await withRun(["--speed", "20"], async (t) => {
    await t.waitFor(HOLDING, 30_000);
    await t.send("C-c");
    await t.waitFor(/stopping: returning slowly to upright/, 10_000);
    await t.send("C-c");
    const second = await t.waitFor(/still returning slowly/, 10_000);
    // Still running after two Ctrl-C: the live view keeps showing the return, no exit yet.
    expect(second).not.toMatch(/EXIT=/);
    await t.waitFor(/RETURNING slowly \((resting near horizontal|up to the pause angle|pausing before the rise|rising|slow final approach)\)/, 20_000);
    const end = await t.waitFor(/EXIT=\d+/, 30_000);
    expect(end).toMatch(/session aborted: beginner/);
    expect(end).toMatch(/ended at -\d+\.\d° \(upright\)/);
    expect(end).toMatch(/EXIT=130\b/);
    });
  });

  it.concurrent("space pauses and resumes; s stops and returns slowly", async () => {
    await withRun(["--speed", "20"], async (t) => {
    await t.waitFor(HOLDING, 30_000);
    await t.send("Space");
    await t.waitFor(/PAUSED \(space to resume\)/, 10_000);
    await t.send("Space");
    await t.waitFor(/invert: resuming[\s\S]*RUNNING · step 2/, 10_000);
    await t.send("s");
    await t.waitFor(/stop: returning slowly to upright[\s\S]*RETURNING slowly/, 10_000);
    const end = await t.waitFor(/EXIT=\d+/, 30_000);
    expect(end).toMatch(/session aborted: beginner/);
    expect(end).toMatch(/ended at -\d+\.\d° \(upright\)/);
    expect(end).toMatch(/EXIT=1\b/);
    });
  });
});
