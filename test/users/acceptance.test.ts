// Issue acceptance, end to end through the real CLI: with a fresh INVERT_HOME, a screened profile's
// three sessions on the simulator climb 20°, 25°, 30°, are listed by history, the last one renders to
// SVG; a profile with a contraindication is refused a head-down program.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../store/tmp.js";

const bin = fileURLToPath(new URL("../../bin/invert.js", import.meta.url));

function invert(home: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, INVERT_HOME: home }, timeout: 60_000 }, (error, out, err) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, out, err });
    });
  });
}

describe("acceptance: profiles, ramp-up and history through the CLI", () => {
  it("climbs 20, 25, 30 over three runs, lists them, reports the last; refuses head-down to a contraindication", async () => {
    const home = tempDir();
    expect((await invert(home, "profile", "create", "ann", "--weight", "68", "--height", "170", "--no-contraindications")).code).toBe(0);
    const maxAngles: number[] = [];
    for (let i = 0; i < 3; i++) {
      // Faster than the issue's --speed 50 to keep the suite quick; the session is the same in virtual time.
      const r = await invert(home, "run", "--profile", "ann", "--device", "sim", "--speed", "200", "--json");
      expect(r.err).toMatch(/ramp-up session \d/);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.out) as { outcome: string; program: string; maxAngle: number };
      expect(s.outcome).toBe("completed");
      maxAngles.push(s.maxAngle);
    }
    expect(maxAngles.map(Math.round)).toEqual([20, 25, 30]);
    const history = JSON.parse((await invert(home, "history", "--json")).out) as { id: number; targetAngle: number; outcome: string; measuredMaxAngle: number; samples: number }[];
    expect(history.map((h) => [h.targetAngle, h.outcome])).toEqual([[20, "completed"], [25, "completed"], [30, "completed"]]);
    expect(history.map((h) => Math.round(h.measuredMaxAngle))).toEqual([20, 25, 30]);
    const svgPath = join(home, "last.svg");
    const rep = await invert(home, "report", String(history[2].id), "--out", svgPath);
    expect(rep.code).toBe(0);
    const svg = readFileSync(svgPath, "utf8");
    expect(svg).toContain(">planned</text>");
    expect(svg).toContain(">measured</text>");
    expect(svg).toContain("Session 3: rampup-30");

    expect((await invert(home, "profile", "create", "bob", "--weight", "80", "--height", "180", "--contraindication", "glaucoma")).code).toBe(0);
    const refused = await invert(home, "run", "beginner", "--profile", "bob", "--device", "sim", "--speed", "200", "--json");
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/declared glaucoma: head-down programs are refused/);
    expect(refused.err.trim().split("\n")).toHaveLength(1);
    // Refused before motion: nothing recorded for bob.
    expect(JSON.parse((await invert(home, "history", "--profile", "bob", "--json")).out)).toEqual([]);
  });
});
