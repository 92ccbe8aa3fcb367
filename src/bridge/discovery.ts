// Home Assistant MQTT discovery: one retained config message per entity on
// <prefix>/<component>/<deviceId>/<object>/config, removed with an empty retained message.
// Availability needs both the bridge and the device to be online ("all"), so a dead bridge process
// greys out every entity even though the device's own availability is still retained "online".
import { BridgeTopics } from "./topics.js";

export interface DiscoveryDevice {
  id: string;
  name?: string;
  model?: string;
  fw?: string;
  programs: string[];
  /** Which axes the device has: entities for a missing axis are not announced. */
  axes: { tilt: boolean; traction: boolean };
}

export interface DiscoveryMessage {
  topic: string;
  /** JSON text, or "" to remove the entity. */
  payload: string;
}

type Entity = { component: string; object: string; config: Record<string, unknown> };

/** `bridgeAvailability`: the availability topic of the process serving the device (default <base>/bridge/state). */
export function discoveryEntities(dev: DiscoveryDevice, base: string, bridgeVersion: string, bridgeAvailability?: string): Entity[] {
  const t = new BridgeTopics(base);
  const common = {
    availability: [
      { topic: bridgeAvailability ?? t.bridgeState(), value_template: "{{ value_json.state }}" },
      { topic: t.availability(dev.id), value_template: "{{ value_json.state }}" },
    ],
    availability_mode: "all",
    device: {
      identifiers: [`invert_${dev.id}`],
      name: dev.name ?? dev.id,
      manufacturer: "invert",
      model: dev.model ?? "inversion table",
      ...(dev.fw ? { sw_version: dev.fw } : {}),
    },
    origin: { name: "invert bridge", sw_version: bridgeVersion },
  };
  const uid = (object: string) => `invert_${dev.id}_${object}`;
  const e = (component: string, object: string, name: string, config: Record<string, unknown>): Entity => ({
    component,
    object,
    config: { name, unique_id: uid(object), object_id: uid(object), ...common, ...config },
  });
  const state = t.state(dev.id);
  const out: Entity[] = [];
  out.push(e("sensor", "phase", "Session phase", { state_topic: state, value_template: "{{ value_json.phase }}", icon: "mdi:human-handsdown" }));
  if (dev.axes.tilt) {
    out.push(e("sensor", "angle", "Angle", {
      state_topic: state, value_template: "{{ value_json.angle }}", unit_of_measurement: "°", state_class: "measurement",
      suggested_display_precision: 1, icon: "mdi:angle-acute",
    }));
    out.push(e("binary_sensor", "ankle_lock", "Ankle lock", {
      // HA's "lock" class reads ON as unlocked.
      state_topic: state, value_template: "{{ 'OFF' if value_json.ankle_lock else 'ON' }}", device_class: "lock",
    }));
  }
  if (dev.axes.traction) {
    out.push(e("sensor", "force", "Traction force", {
      state_topic: state, value_template: "{{ value_json.force }}", unit_of_measurement: "N", state_class: "measurement",
      suggested_display_precision: 0, icon: "mdi:arrow-expand-vertical",
    }));
  }
  out.push(e("binary_sensor", "stop_switch", "Stop switch", {
    // ON (problem) while the hand-held stop switch is pressed or disconnected.
    state_topic: state, value_template: "{{ 'OFF' if value_json.stop_switch == 'ok' else 'ON' }}", device_class: "problem",
  }));
  out.push(e("select", "program", "Program", {
    state_topic: state, value_template: "{{ value_json.program }}", options: dev.programs,
    command_topic: t.request(dev.id, "select"), command_template: '{"program": "{{ value }}"}',
  }));
  // Start must be signed: Home Assistant's static payload is refused unless a signing script publishes
  // instead (docs/bridge.md). The button is still announced so the refusal shows up in the response topic.
  out.push(e("button", "start", "Start", { command_topic: t.request(dev.id, "start"), payload_press: '{"source":"homeassistant"}', icon: "mdi:play" }));
  out.push(e("button", "stop", "Stop", { command_topic: t.request(dev.id, "stop"), payload_press: '{"source":"homeassistant"}', icon: "mdi:stop" }));
  out.push(e("button", "return", "Return upright", { command_topic: t.request(dev.id, "return"), payload_press: '{"source":"homeassistant"}', icon: "mdi:arrow-u-left-top" }));
  return out;
}

export function discoveryTopic(prefix: string, component: string, deviceId: string, object: string): string {
  return `${prefix}/${component}/${deviceId}/${object}/config`;
}

/** Retained config messages announcing a device's entities. */
export function discoveryMessages(dev: DiscoveryDevice, opts: { prefix: string; base: string; version: string; bridgeAvailability?: string }): DiscoveryMessage[] {
  return discoveryEntities(dev, opts.base, opts.version, opts.bridgeAvailability).map((en) => ({
    topic: discoveryTopic(opts.prefix, en.component, dev.id, en.object),
    payload: JSON.stringify(en.config),
  }));
}

/** Empty retained messages removing every entity a device could have announced (both axes). */
export function discoveryRemovals(deviceId: string, opts: { prefix: string; base: string; version: string }): DiscoveryMessage[] {
  const all = discoveryEntities({ id: deviceId, programs: [], axes: { tilt: true, traction: true } }, opts.base, opts.version);
  return all.map((en) => ({ topic: discoveryTopic(opts.prefix, en.component, deviceId, en.object), payload: "" }));
}
