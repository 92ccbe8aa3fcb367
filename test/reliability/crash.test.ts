// Crash test slice (bench/crash.ts runs many): the real companion process is killed with SIGKILL in the
// middle of a session over a socat pseudo-terminal; the stand-alone simulator must bring the user back
// upright on its own, slowly, and the history must open cleanly with the session marked aborted.
import { expect, it } from "vitest";
import { crashOnce } from "../../bench/crash.js";
import { describeIfTool } from "../helpers/real-io.js";

describeIfTool(["socat"], "companion killed mid-session", () => {
  it("SIGKILL while head-down: the device returns upright on its own and history says aborted", async () => {
    // 140 samples after the first motion: 14 s in, holding at the program's 18 degrees (ramp from -80 at 8 deg/s).
    const r = await crashOnce(140, 11);
    expect(r.problems).toEqual([]);
    expect(r.killedAt.tilt).toBeGreaterThan(0);
    expect(r.uprightAfterMs).toBeGreaterThan(0);
    expect(r.session?.outcome).toBe("aborted");
    expect(r.session?.recovered).toBe(1);
    expect(r.session?.samples).toBeGreaterThan(0);
    expect(r.integrity).toBe("ok");
  }, 180_000);
});
