// Device names as the user types them: `sim`, `serial:/dev/ttyUSB0?baud=115200`,
// `mqtt://[user:pass@]host:port/<deviceId>` and `mqtts://...?ca=&cert=&key=`. A bad name is refused with
// one line that says which part is wrong, before anything is opened.
import { isValidDeviceId } from "../../protocol/index.js";

export type DeviceUri =
  | { kind: "sim"; text: string }
  | { kind: "serial"; text: string; path: string; baud?: number }
  | {
      kind: "mqtt";
      text: string;
      tls: boolean;
      host: string;
      port: number;
      deviceId: string;
      username?: string;
      password?: string;
      /** File paths of the CA, client certificate and key (mqtts only). */
      ca?: string;
      cert?: string;
      key?: string;
    };

export class DeviceUriError extends Error {
  override readonly name = "DeviceUriError";
}

const BAUDS = new Set([1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000, 2000000]);
const EXAMPLES = "sim, serial:/dev/ttyUSB0?baud=115200, mqtt://host:1883/<deviceId> or mqtts://host:8883/<deviceId>";

function bad(uri: string, what: string): DeviceUriError {
  return new DeviceUriError(`device "${uri}": ${what}`);
}

export function parseDeviceUri(uri: string): DeviceUri {
  const text = uri.trim();
  if (text === "") throw new DeviceUriError(`device: empty (use ${EXAMPLES})`);
  if (text === "sim") return { kind: "sim", text };
  if (text.startsWith("serial:")) return parseSerial(text);
  if (text.startsWith("mqtt://") || text.startsWith("mqtts://")) return parseMqtt(text);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1];
  throw bad(text, scheme ? `unknown scheme "${scheme}" (use ${EXAMPLES})` : `not a device name (use ${EXAMPLES})`);
}

function parseSerial(text: string): DeviceUri {
  const rest = text.slice("serial:".length).replace(/^\/\/(?=\/)/, "");
  const q = rest.indexOf("?");
  const path = q < 0 ? rest : rest.slice(0, q);
  if (path === "") throw bad(text, "serial port path is missing (e.g. serial:/dev/ttyUSB0)");
  if (/[\s\0]/.test(path)) throw bad(text, `serial port path "${path}" contains whitespace`);
  const params = new URLSearchParams(q < 0 ? "" : rest.slice(q + 1));
  let baud: number | undefined;
  for (const [k, v] of params) {
    if (k !== "baud") throw bad(text, `unknown serial option "${k}" (only baud)`);
    const n = Number(v);
    if (!/^\d+$/.test(v) || !BAUDS.has(n)) throw bad(text, `baud "${v}" is not a standard rate (e.g. 115200)`);
    baud = n;
  }
  return baud === undefined ? { kind: "serial", text, path } : { kind: "serial", text, path, baud };
}

function parseMqtt(text: string): DeviceUri {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    // Unparsed, so where a password ends is unknown: hide everything up to the last '@'.
    throw bad(text.replace(PASSWORD_UNPARSED, "$1***@"), "not a valid URL (expected mqtt://[user:pass@]host:port/<deviceId>)");
  }
  // Error lines end up in logs: a password, even a mistyped one, stays out of every one of them.
  const shown = u.password === "" ? text : text.replace(PASSWORD_IN_URI, "$1***@");
  const tls = u.protocol === "mqtts:";
  if (u.hostname === "") throw bad(shown, "broker host is missing");
  let port = tls ? 8883 : 1883;
  if (u.port !== "") {
    port = Number(u.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(shown, `port "${u.port}" is out of range`);
  }
  const segs = u.pathname.split("/").filter((s) => s !== "");
  if (segs.length === 0) throw bad(shown, "device id is missing (mqtt://host:port/<deviceId>)");
  if (segs.length > 1) throw bad(shown, `path "${u.pathname}" must be just /<deviceId>`);
  const deviceId = decodePart(shown, "device id", segs[0]);
  if (!isValidDeviceId(deviceId)) throw bad(shown, `device id "${deviceId}" must be 1-64 letters, digits, '_' or '-'`);
  const out: Extract<DeviceUri, { kind: "mqtt" }> = { kind: "mqtt", text, tls, host: u.hostname.replace(/^\[|\]$/g, ""), port, deviceId };
  if (u.username !== "") out.username = decodePart(shown, "user name", u.username);
  if (u.password !== "") {
    if (!out.username) throw bad(shown, "password given without a user name");
    out.password = decodePart(shown, "password", u.password);
  }
  for (const [k, v] of u.searchParams) {
    if (k !== "ca" && k !== "cert" && k !== "key") throw bad(shown, `unknown option "${k}" (mqtts takes ca, cert, key)`);
    if (!tls) throw bad(shown, `option "${k}" needs mqtts://`);
    if (v === "") throw bad(shown, `option "${k}" needs a file path`);
    out[k] = v;
  }
  if ((out.cert === undefined) !== (out.key === undefined)) throw bad(shown, "cert and key must be given together");
  return out;
}

// A URL parser takes the LAST '@' before the end of the authority as the end of the user info, so an
// unescaped '@' may sit inside a password: stopping at the first one would print the rest of it.
const PASSWORD_IN_URI = /(\/\/[^:@/?#]*:)[^/?#]*@/;
const PASSWORD_UNPARSED = /(\/\/[^:@/?#]*:).*@/;

/** A %-encoded part of the URI (`shown`: the URI as it may be printed); a broken escape is named, not a bare "URI malformed". */
function decodePart(shown: string, what: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw bad(shown, `${what} has an invalid %-escape (write % as %25; escapes must be whole UTF-8 characters)`);
  }
}

/** The URI with any password hidden, for logs and summaries. */
export function redactDeviceUri(d: DeviceUri): string {
  if (d.kind !== "mqtt" || d.password === undefined) return d.text;
  return d.text.replace(PASSWORD_IN_URI, "$1***@");
}
