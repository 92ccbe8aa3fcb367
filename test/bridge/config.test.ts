import { describe, expect, it } from "vitest";
import { BridgeConfigError, deviceIdFromUri, loadBridgeConfig } from "../../src/bridge/config.js";

const HEX = "ab".repeat(32);

function files(map: Record<string, string>) {
  return (p: string) => {
    const hit = Object.entries(map).find(([k]) => p.endsWith(k));
    if (!hit) throw Object.assign(new Error("no such file"), { code: "ENOENT" });
    return hit[1];
  };
}

describe("bridge config", () => {
  it("loads YAML, resolves keys (inline and file), applies defaults", () => {
    const yaml = [
      "mqtt:", "  url: mqtt://broker:1883", "  username: u", "  password: p",
      "homeassistant:", "  enabled: true",
      "devices:", `  - uri: mqtt://broker:1883/table-1`, `    key: ${HEX}`, "  - uri: serial:/dev/ttyUSB0", "    id: stretcher", "    keyFile: k.txt",
    ].join("\n");
    const cfg = loadBridgeConfig({ config: "bridge.yaml" }, files({ "bridge.yaml": yaml, "k.txt": `base64:${Buffer.alloc(16, 3).toString("base64")}\n` }));
    expect(cfg.base).toBe("invert");
    expect(cfg.homeassistant).toEqual({ enabled: true, prefix: "homeassistant" });
    expect(cfg.stateHz).toBe(2);
    expect(cfg.devices.map((d) => d.id)).toEqual(["table-1", "stretcher"]);
    expect(cfg.devices[0].key).toEqual(Buffer.from(HEX, "hex"));
    expect(cfg.devices[1].key).toEqual(Buffer.alloc(16, 3));
    expect(cfg.mqtt.username).toBe("u");
  });

  it("lets flags override the file and add devices", () => {
    const yaml = "mqtt:\n  url: mqtt://a:1\nbase: x\ndevices:\n  - uri: sim\n";
    const cfg = loadBridgeConfig(
      { config: "c.yaml", mqtt: "mqtt://b:2", base: "clinic", device: ["mqtt://b:2/t9"], homeassistant: true, group: "g1", deviceKey: [`t9=${HEX}`] },
      files({ "c.yaml": yaml }),
    );
    expect(cfg.mqtt.url).toBe("mqtt://b:2");
    expect(cfg.base).toBe("clinic");
    expect(cfg.group).toBe("g1");
    expect(cfg.homeassistant.enabled).toBe(true);
    expect(cfg.devices.map((d) => [d.id, d.key !== undefined])).toEqual([["sim", false], ["t9", true]]);
  });

  it("names the field in every error", () => {
    const bad = (yaml: string, flags = {}) => {
      try {
        loadBridgeConfig({ config: "c.yaml", ...flags }, files({ "c.yaml": yaml }));
      } catch (e) {
        expect(e).toBeInstanceOf(BridgeConfigError);
        return (e as Error).message;
      }
      throw new Error("expected an error");
    };
    expect(bad("mqtt:\n  url: http://x\ndevices: [{uri: sim}]")).toMatch(/^c\.yaml: mqtt\.url: must be mqtt/);
    expect(bad("devices: [{uri: sim}]")).toMatch(/mqtt\.url: required/);
    expect(bad("mqtt: {url: mqtt://x}\ndevices: [{uri: sim, key: abcd}]")).toMatch(/devices\[0\]\.key: must be at least 16 bytes/);
    expect(bad("mqtt: {url: mqtt://x}\ndevices: [{uri: sim, id: 'bad id'}]")).toMatch(/devices\[0\]\.id: must be 1-64/);
    expect(bad("mqtt: {url: mqtt://x}\ndevices: [{uri: sim, keyFile: nope}]")).toMatch(/devices\[0\]\.keyFile: cannot read nope \(ENOENT\)/);
    expect(bad("mqtt: {url: mqtt://x}\ndevices: [{uri: sim}, {uri: sim, id: sim}]")).toMatch(/devices\[1\]\.id: "sim" is used twice/);
    expect(bad("mqtt: {url: mqtt://x}\nbase: 'a/#'\ndevices: [{uri: sim}]")).toMatch(/base: must not contain/);
    expect(bad("mqtt: {url: mqtt://x}\ndevices: [{uri: sim, colour: red}]")).toMatch(/devices\[0\]/);
    expect(bad("mqtt: {url: mqtt://x}\nstateHz: 0\ndevices: [{uri: sim}]")).toMatch(/stateHz/);
    expect(bad("mqtt: {url: mqtt://x}")).toMatch(/devices: at least one device/);
    expect(bad("mqtt: [")).toMatch(/invalid YAML/);
    expect(bad("mqtt: {url: mqtt://x}\ndevices: [{uri: sim}]", { deviceKey: ["nobody=" + HEX] })).toMatch(/--device-key: no device with id "nobody"/);
  });

  it("never derives the reserved id \"bridge\" from a URI: the field is named and an explicit id asked for", () => {
    const bad = (f: Parameters<typeof loadBridgeConfig>[0], read?: (p: string) => string) => {
      try {
        loadBridgeConfig(f, read);
      } catch (e) {
        expect(e).toBeInstanceOf(BridgeConfigError);
        return (e as Error).message;
      }
      throw new Error("expected a config error");
    };
    const yaml = (uri: string) => files({ "b.yaml": `mqtt: {url: mqtt://x}\ndevices: [{uri: sim}, {uri: "${uri}"}]` });
    expect(bad({ config: "b.yaml" }, yaml("mqtt://broker:1883/bridge"))).toBe('b.yaml: devices[1].uri: "mqtt://broker:1883/bridge" gives the reserved device id "bridge"; give it an explicit id');
    expect(bad({ config: "b.yaml" }, yaml("serial:/dev/bridge"))).toMatch(/^b\.yaml: devices\[1\]\.uri: .*reserved device id "bridge"; give it an explicit id$/);
    expect(bad({ mqtt: "mqtt://x", device: ["mqtt://h/bridge"] })).toMatch(/^--device mqtt:\/\/h\/bridge: gives the reserved device id "bridge"; list it in a config file with an explicit id$/);
    // An explicit id fixes it.
    const ok = loadBridgeConfig({ config: "b.yaml" }, files({ "b.yaml": "mqtt: {url: mqtt://x}\ndevices: [{uri: mqtt://h/bridge, id: table-9}]" }));
    expect(ok.devices.map((d) => d.id)).toEqual(["table-9"]);
  });

  it("derives ids from URIs", () => {
    expect(deviceIdFromUri("mqtt://u:p@h:1883/table-7", 0)).toBe("table-7");
    expect(deviceIdFromUri("serial:/dev/ttyUSB0?baud=115200", 0)).toBe("ttyUSB0");
    expect(deviceIdFromUri("sim", 0)).toBe("sim");
    expect(deviceIdFromUri("sim", 2)).toBe("sim2");
  });
});
