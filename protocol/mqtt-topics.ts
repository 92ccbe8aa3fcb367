// The MQTT mapping of the protocol: same JSON payloads as the serial frames, without the CRC suffix.
import type { MsgType } from "./messages.js";

export type Channel = "cmd" | "ack" | "tlm" | "evt" | "caps" | "status";

export interface ChannelSpec {
  qos: 0 | 1;
  retain: boolean;
  direction: "toDevice" | "fromDevice";
}

export const CHANNELS: Record<Channel, ChannelSpec> = {
  cmd: { qos: 1, retain: false, direction: "toDevice" },
  ack: { qos: 1, retain: false, direction: "fromDevice" },
  tlm: { qos: 0, retain: false, direction: "fromDevice" },
  evt: { qos: 1, retain: false, direction: "fromDevice" },
  caps: { qos: 1, retain: true, direction: "fromDevice" },
  status: { qos: 1, retain: true, direction: "fromDevice" },
};

/**
 * True for a publication that must be dropped as stale: a broker sets the retain flag only on a stored copy
 * it hands to a new subscription, so on a channel that is never retained the copy was left behind by some
 * client (a retained `move` would otherwise reach the device again on every reconnect).
 */
export function isStaleRetained(channel: Channel, retainFlag: boolean): boolean {
  return retainFlag && !CHANNELS[channel].retain;
}

export const DEFAULT_ROOT = "invert";

const ID = /^[A-Za-z0-9_-]{1,64}$/;
export function isValidDeviceId(id: string): boolean {
  return ID.test(id);
}

export function topic(deviceId: string, channel: Channel, root = DEFAULT_ROOT): string {
  return `${root}/${deviceId}/${channel}`;
}

/** The channel a device-bound or companion-bound message travels on. */
export function channelFor(type: MsgType): Channel {
  switch (type) {
    case "caps":
      return "caps";
    case "ack":
      return "ack";
    case "tlm":
      return "tlm";
    case "evt":
      return "evt";
    default:
      return "cmd";
  }
}

export const ONLINE = JSON.stringify({ state: "online" });
export const OFFLINE = JSON.stringify({ state: "offline" });
