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

/** The config error's message (failing the test when there is none). */
function configError(f: Parameters<typeof loadBridgeConfig>[0], read?: (p: string) => string): string {
  try {
    loadBridgeConfig(f, read);
  } catch (e) {
    expect(e).toBeInstanceOf(BridgeConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a config error");
}

/** A config file b.yaml with the simulator and one more device. */
const withDevice = (uri: string) => files({ "b.yaml": `mqtt: {url: mqtt://x}\ndevices: [{uri: sim}, {uri: "${uri}"}]` });

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
    expect(configError({ config: "b.yaml" }, withDevice("mqtt://broker:1883/bridge"))).toBe('b.yaml: devices[1].uri: "mqtt://broker:1883/bridge" gives the reserved device id "bridge"; give it an explicit id');
    expect(configError({ config: "b.yaml" }, withDevice("serial:/dev/bridge"))).toMatch(/^b\.yaml: devices\[1\]\.uri: .*reserved device id "bridge"; give it an explicit id$/);
    expect(configError({ mqtt: "mqtt://x", device: ["mqtt://h/bridge"] })).toMatch(/^--device mqtt:\/\/h\/bridge: gives the reserved device id "bridge"; list it in a config file with an explicit id$/);
    // An explicit id fixes it.
    const ok = loadBridgeConfig({ config: "b.yaml" }, files({ "b.yaml": "mqtt: {url: mqtt://x}\ndevices: [{uri: mqtt://h/bridge, id: table-9}]" }));
    expect(ok.devices.map((d) => d.id)).toEqual(["table-9"]);
  });

  it("refuses a device URI that can never be opened, naming devices[i].uri or --device and why", () => {
    expect(configError({ config: "b.yaml" }, withDevice("mqtt://h/%E0%A4%A"))).toBe('b.yaml: devices[1].uri: device "mqtt://h/%E0%A4%A": device id has an invalid %-escape (write % as %25; escapes must be whole UTF-8 characters)');
    expect(configError({ config: "b.yaml" }, withDevice("serial:/dev/ttyS0?baud=7"))).toBe('b.yaml: devices[1].uri: device "serial:/dev/ttyS0?baud=7": baud "7" is not a standard rate (e.g. 115200)');
    expect(configError({ config: "b.yaml" }, withDevice("mqtt://h:1883"))).toMatch(/^b\.yaml: devices\[1\]\.uri: device "mqtt:\/\/h:1883": device id is missing/);
    expect(configError({ mqtt: "mqtt://x", device: ["foo:bar"] })).toMatch(/^--device: device "foo:bar": unknown scheme "foo" \(use sim, serial:/);
    // After the file's devices, a flag's device is still named as the flag.
    expect(configError({ config: "b.yaml", device: ["serial:/dev/ttyS0?baud=7"] }, withDevice("sim"))).toMatch(/^--device: device "serial:\/dev\/ttyS0\?baud=7": baud "7"/);
    // An explicit id does not make a broken URI usable.
    expect(configError({ config: "c.yaml" }, files({ "c.yaml": "mqtt: {url: mqtt://x}\ndevices: [{uri: 'tcp://h/t1', id: t1}]" }))).toMatch(/^c\.yaml: devices\[0\]\.uri: device "tcp:\/\/h\/t1": unknown scheme "tcp"/);
  });

  it("derives ids from URIs", () => {
    expect(deviceIdFromUri("mqtt://u:p@h:1883/table-7", 0)).toBe("table-7");
    expect(deviceIdFromUri("serial:/dev/ttyUSB0?baud=115200", 0)).toBe("ttyUSB0");
    expect(deviceIdFromUri("sim", 0)).toBe("sim");
    expect(deviceIdFromUri("sim", 2)).toBe("sim2");
  });
});
