// The "return takes N s" the user is shown before a session (the run preview, `invert programs plan`,
// the planned trajectory stored with a profile's session) against the return the session really runs
// on the simulator, timed in virtual time from the return's start to the session's end.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { previewOf } from "../../src/cli/live/front-end.js";
import { registerWith } from "../../src/cli/commands/programs.js";
import { getBuiltin } from "../../src/programs/library.js";
import { planReturn, sessionReturnProfile } from "../../src/programs/plan.js";
import { parseProgram, type Program, type ProgramInput } from "../../src/programs/schema.js";
import type { SessionEvent } from "../../src/session/run-session.js";
import { openStore } from "../../src/store/index.js";
import { recordProfileSession } from "../../src/users/session-setup.js";
import { tempDir } from "../store/tmp.js";
import { startHarness } from "./harness.js";

/** Acceleration, the halt before the return and telemetry latency add about a second per return. */
const TOLERANCE_S = 3;

function eventAt(events: readonly SessionEvent[], code: string): number {
  const e = events.find((x) => x.code === code);
  if (!e) throw new Error(`no ${code} event`);
  return e.t;
}

/** Seconds from the start of the return to the end of the session. */
function measuredReturnS(events: readonly SessionEvent[]): number {
  return (eventAt(events, "END") - eventAt(events, "RETURN")) / 1000;
}

async function programsPlanReturnS(program: Program): Promise<number> {
  const file = join(tempDir("invert-return-"), "program.json");
  writeFileSync(file, JSON.stringify(program));
  let out = "";
  const cli = new Command().exitOverride();
  registerWith(cli, { out: (s) => (out += s), err: () => undefined });
  await cli.parseAsync(["node", "invert", "programs", "plan", file, "--json"]);
  return (JSON.parse(out) as { returnS: number }).returnS;
}

/** Runs the program to completion, recording it as `invert run --profile` does. */
async function runRecorded(program: Program) {
  const store = openStore(tempDir());
  const h = startHarness(program);
  const rec = recordProfileSession(store, h.session, { program, meta: { kind: "program", programName: program.name, program } }, { clock: h.clock });
  expect(h.finish()).toBe(true);
  const s = await h.session.done;
  const row = await rec.finished;
  store.close();
  const planned = row?.planned as { returnFromS: number; points: { t: number }[] } | undefined;
  if (!planned) throw new Error("no planned trajectory recorded");
  return { summary: s, recordedReturnS: (planned.points.at(-1)?.t ?? planned.returnFromS) - planned.returnFromS };
}

const program = (input: ProgramInput): Program => parseProgram(input);

const CASES: { what: string; program: Program }[] = [
  { what: "head-down, and ends head-down", program: program({ name: "ends-head-down", steps: [{ type: "ramp", to: 20, speed: 4 }, { type: "hold", seconds: 10 }] }) },
  // The session rests because the user was head-down, though the return starts at horizontal.
  { what: "pumping head-down, ending at horizontal (built-in gentle-oscillation)", program: getBuiltin("gentle-oscillation") as Program },
  {
    what: "head-down, then back feet-down below the pause angle",
    program: program({ name: "back-feet-down", steps: [{ type: "ramp", to: 20, speed: 4 }, { type: "hold", seconds: 10 }, { type: "ramp", to: -30, speed: 4 }] }),
  },
  { what: "never head-down, ending above the pause angle", program: program({ name: "feet-down-high", steps: [{ type: "ramp", to: -10, speed: 4 }, { type: "hold", seconds: 10 }] }) },
  { what: "never head-down, ending below the pause angle", program: program({ name: "feet-down-low", steps: [{ type: "ramp", to: -40, speed: 4 }, { type: "hold", seconds: 10 }] }) },
  {
    what: "head-down under a program speed limit below the return speed",
    program: program({ name: "slow", limits: { speedMax: 2 }, steps: [{ type: "ramp", to: 20, speed: 2 }, { type: "hold", seconds: 5 }] }),
  },
];

describe("the return estimate shown to the user matches the session's return on the simulator", () => {
  for (const c of CASES) {
    it(c.what, async () => {
      const { summary, recordedReturnS } = await runRecorded(c.program);
      expect(summary.outcome).toBe("completed");
      const measured = measuredReturnS(summary.events);
      expect(Math.abs((previewOf(c.program)?.returnS ?? NaN) - measured)).toBeLessThan(TOLERANCE_S);
      expect(Math.abs((await programsPlanReturnS(c.program)) - measured)).toBeLessThan(TOLERANCE_S);
      expect(Math.abs(recordedReturnS - measured)).toBeLessThan(TOLERANCE_S);
    });
  }

  it("stopped during traction: release at the program's rate limit, then the return from head-down", async () => {
    const p = program({
      name: "stop-in-traction",
      limits: { rateMax: 10 },
      steps: [
        { type: "ramp", to: 10, speed: 4 },
        { type: "traction", target: 150, holdS: 60, restS: 10, restPct: 50, cycles: 1, rate: 10 },
      ],
    });
    const h = startHarness(p, { simConfig: { model: "combo" } });
    // The first hold after the pull is the traction hold: 150 N at 10°.
    expect(h.runUntilState(/running\.hold/)).toBe(true);
    h.clock.advance(5000);
    const at = h.samples.at(-1);
    if (!at) throw new Error("no telemetry");
    const caps = h.link.caps;
    if (!caps) throw new Error("no caps");
    h.session.stop();
    expect(h.finish()).toBe(true);
    const s = await h.session.done;
    const measured = measuredReturnS(s.events);
    const est = planReturn(at.tilt, sessionReturnProfile(caps.axes, p.limits), at.force ?? 0, true);
    expect(est.phases[0]).toMatchObject({ label: "release traction" });
    // Released at 10 N/s, not the device's 20: a figure the estimate must take from the limits.
    expect(est.phases[0]?.seconds).toBeGreaterThan(14);
    expect(Math.abs(est.totalS - measured)).toBeLessThan(TOLERANCE_S);
  });
});
