// The stand-alone runner's pure parts: config files (JSON/YAML) and fault plans scheduled on a device.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyFaultPlan, parseAtFor, parseDropLink, parsePowerLoss, parseSimConfig } from "../index.js";
import { loadConfigFile } from "../standalone.js";
import { connect, rig } from "./harness.js";
import { tempDir } from "./real-io.js";

describe("config files", () => {
  const dir = tempDir();
  it("reads JSON and YAML into a valid config", () => {
    const j = join(dir, "a.json");
    writeFileSync(j, JSON.stringify({ model: "combo", tilt: { speedMax: 8 } }));
    const y = join(dir, "b.yaml");
    writeFileSync(y, "model: stretcher\ntraction:\n  max: 500\n");
    expect(parseSimConfig(loadConfigFile(j)).tilt.speedMax).toBe(8);
    expect(parseSimConfig(loadConfigFile(y))).toMatchObject({ model: "stretcher", traction: { max: 500 } });
  });
  it("names the file in one line when it is missing, malformed or not a mapping", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ nope");
    const list = join(dir, "list.yaml");
    writeFileSync(list, "- 1\n- 2\n");
    expect(() => loadConfigFile(join(dir, "missing.yaml"))).toThrow(/^config .*missing\.yaml: cannot read \(ENOENT\)$/);
    expect(() => loadConfigFile(bad)).toThrow(/^config .*bad\.json: not valid JSON: /);
    expect(() => loadConfigFile(list)).toThrow(/^config .*list\.yaml: must be a mapping of settings$/);
  });
});

describe("fault plans", () => {
  it("schedules flags relative to the start: stop switch, power loss and link drop happen when asked", () => {
    const r = rig({ tilt: { restS: 1, pauseS: 1 } });
    connect(r);
    const id = r.client.move(10, 10);
    r.until(() => r.client.acksFor(id).includes("done"), 60_000, "move");
    const start = r.clock.now();
    applyFaultPlan(
      r.device.inject,
      {
        dropLink: [parseDropLink("60:2")],
        stopSwitch: (({ atS, durationS }) => ({ atS, releaseAfterS: durationS }))(parseAtFor("--stop-switch-at", "2:1")),
        powerLoss: parsePowerLoss("30:1"),
      },
      start,
    );
    r.clock.advanceTo(start + 1990);
    expect(r.truth().sw).toBe("ok");
    r.clock.advanceTo(start + 2010);
    expect(r.truth().sw).toBe("pressed");
    r.clock.advanceTo(start + 3010);
    expect(r.truth().sw).toBe("ok");
    expect(r.client.hasEvent("STOP_SWITCH")).toBe(true);
    r.clock.advanceTo(start + 30_010);
    expect(r.truth().poweredOn).toBe(false);
    r.clock.advanceTo(start + 31_010);
    expect(r.device.boots).toBe(2);
    r.clock.advanceTo(start + 59_990);
    expect(r.truth().faults).not.toContain("WATCHDOG");
    // Events sent while the link is down are lost with it; the latch is what counts.
    r.clock.advanceTo(start + 61_500);
    expect(r.truth().faults).toContain("WATCHDOG");
  });
});
