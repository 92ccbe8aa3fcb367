import { describe, expect, it } from "vitest";
import { discoveryMessages, discoveryRemovals } from "../../src/bridge/discovery.js";

const opts = { prefix: "homeassistant", base: "invert", version: "0.1.0" };
const dev = { id: "t1", name: "Living room table", model: "combo", fw: "1.2.0", programs: ["beginner", "oscillation-60"], axes: { tilt: true, traction: true } };

describe("Home Assistant discovery", () => {
  const msgs = discoveryMessages(dev, opts);
  const byTopic = new Map(msgs.map((m) => [m.topic, JSON.parse(m.payload) as Record<string, unknown>]));

  it("announces the agreed entities on homeassistant/<component>/<id>/<object>/config", () => {
    expect([...byTopic.keys()].sort()).toEqual([
      "homeassistant/binary_sensor/t1/ankle_lock/config",
      "homeassistant/binary_sensor/t1/stop_switch/config",
      "homeassistant/button/t1/return/config",
      "homeassistant/button/t1/start/config",
      "homeassistant/button/t1/stop/config",
      "homeassistant/select/t1/program/config",
      "homeassistant/sensor/t1/angle/config",
      "homeassistant/sensor/t1/force/config",
      "homeassistant/sensor/t1/phase/config",
    ]);
  });

  it("wires state, commands and availability to the bridge topics", () => {
    const angle = byTopic.get("homeassistant/sensor/t1/angle/config")!;
    expect(angle).toMatchObject({ state_topic: "invert/t1/state", value_template: "{{ value_json.angle }}", unit_of_measurement: "°", unique_id: "invert_t1_angle" });
    expect(angle.availability).toEqual([
      { topic: "invert/bridge/state", value_template: "{{ value_json.state }}" },
      { topic: "invert/t1/availability", value_template: "{{ value_json.state }}" },
    ]);
    expect(angle.availability_mode).toBe("all");
    expect(angle.device).toMatchObject({ identifiers: ["invert_t1"], name: "Living room table", model: "combo", sw_version: "1.2.0" });
    expect(byTopic.get("homeassistant/sensor/t1/force/config")).toMatchObject({ unit_of_measurement: "N" });
    expect(byTopic.get("homeassistant/select/t1/program/config")).toMatchObject({ options: ["beginner", "oscillation-60"], command_topic: "invert/t1/request/select" });
    expect(byTopic.get("homeassistant/button/t1/stop/config")).toMatchObject({ command_topic: "invert/t1/request/stop" });
    expect(byTopic.get("homeassistant/button/t1/return/config")).toMatchObject({ command_topic: "invert/t1/request/return" });
    expect(byTopic.get("homeassistant/binary_sensor/t1/ankle_lock/config")).toMatchObject({ device_class: "lock" });
    // Unique ids are unique.
    const ids = [...byTopic.values()].map((c) => c.unique_id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("leaves out entities of a missing axis", () => {
    const table = discoveryMessages({ ...dev, axes: { tilt: true, traction: false } }, opts).map((m) => m.topic);
    expect(table).not.toContain("homeassistant/sensor/t1/force/config");
    const stretcher = discoveryMessages({ ...dev, axes: { tilt: false, traction: true } }, opts).map((m) => m.topic);
    expect(stretcher).not.toContain("homeassistant/sensor/t1/angle/config");
    expect(stretcher).not.toContain("homeassistant/binary_sensor/t1/ankle_lock/config");
  });

  it("removes every possible entity with empty payloads", () => {
    const rm = discoveryRemovals("t1", opts);
    expect(rm.every((m) => m.payload === "")).toBe(true);
    expect(rm.map((m) => m.topic).sort()).toEqual([...byTopic.keys()].sort());
  });

  it("wires the serving process's availability topic when several bridges share a broker", () => {
    const m = discoveryMessages(dev, { ...opts, bridgeAvailability: "invert/bridge/rack-2/state" });
    expect(JSON.parse(m[0].payload).availability[0]).toEqual({ topic: "invert/bridge/rack-2/state", value_template: "{{ value_json.state }}" });
  });

  it("uses a custom prefix and base", () => {
    const m = discoveryMessages(dev, { ...opts, prefix: "ha", base: "clinic" });
    expect(m[0].topic.startsWith("ha/")).toBe(true);
    expect(JSON.parse(m[0].payload).state_topic).toBe("clinic/t1/state");
  });
});
