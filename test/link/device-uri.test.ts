import { describe, expect, it } from "vitest";
import { DeviceUriError, parseDeviceUri, redactDeviceUri } from "../../src/link/device-uri.js";

describe("parseDeviceUri", () => {
  it("parses the embedded simulator", () => {
    expect(parseDeviceUri("sim")).toEqual({ kind: "sim", text: "sim" });
  });

  it("parses serial paths with and without a baud rate", () => {
    expect(parseDeviceUri("serial:/dev/ttyUSB0")).toEqual({ kind: "serial", text: "serial:/dev/ttyUSB0", path: "/dev/ttyUSB0" });
    expect(parseDeviceUri("serial:/dev/ttyACM1?baud=57600")).toMatchObject({ path: "/dev/ttyACM1", baud: 57600 });
    expect(parseDeviceUri("serial:COM3")).toMatchObject({ path: "COM3" });
  });

  it("parses MQTT with credentials and the default ports", () => {
    expect(parseDeviceUri("mqtt://alice:s%40cret@broker.local:1884/table-1")).toMatchObject({
      kind: "mqtt",
      tls: false,
      host: "broker.local",
      port: 1884,
      deviceId: "table-1",
      username: "alice",
      password: "s@cret",
    });
    expect(parseDeviceUri("mqtt://h/d1")).toMatchObject({ port: 1883 });
    expect(parseDeviceUri("mqtts://h/d1?ca=ca.pem&cert=c.pem&key=k.pem")).toMatchObject({ tls: true, port: 8883, ca: "ca.pem", cert: "c.pem", key: "k.pem" });
  });

  it.each([
    ["", /empty/],
    ["tcp://x", /unknown scheme "tcp"/],
    ["ttyUSB0", /not a device name/],
    ["serial:", /serial port path is missing/],
    ["serial:/dev/ttyUSB0?baud=12345", /baud "12345" is not a standard rate/],
    ["serial:/dev/ttyUSB0?parity=odd", /unknown serial option "parity"/],
    ["mqtt://host:1883", /device id is missing/],
    ["mqtt://host:1883/a/b", /must be just \/<deviceId>/],
    ["mqtt://host:1883/bad id!", /device id "bad id!"/],
    ["mqtt://host:99999/d", /not a valid URL|port/],
    ["mqtt://host/d?ca=x.pem", /option "ca" needs mqtts/],
    ["mqtts://host/d?cert=c.pem", /cert and key must be given together/],
    ["mqtts://host/d?foo=1", /unknown option "foo"/],
    ["mqtt://:pw@host/d", /password given without a user name/],
  ])("refuses %j with one line naming the wrong part", (uri, why) => {
    let msg = "";
    try {
      parseDeviceUri(uri);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(why);
    expect(msg).not.toContain("\n");
  });

  it.each([
    ["mqtt://host/%E0%A4%A", 'device "mqtt://host/%E0%A4%A": device id has an invalid %-escape'],
    ["mqtt://host/d%ZZ", 'device "mqtt://host/d%ZZ": device id has an invalid %-escape'],
    ["mqtt://al%E0ce@host/d", 'device "mqtt://al%E0ce@host/d": user name has an invalid %-escape'],
    ["mqtt://u:s%E0cret@host/d", 'device "mqtt://u:***@host/d": password has an invalid %-escape'],
  ])("refuses a broken percent-escape in %s, naming the part", (uri, line) => {
    let err: unknown;
    try {
      parseDeviceUri(uri);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeviceUriError);
    expect((err as Error).message.startsWith(`${line} (write % as %25`)).toBe(true);
    expect((err as Error).message).not.toContain("\n");
    expect((err as Error).message).not.toContain("s%E0cret");
  });

  it("hides passwords when printed", () => {
    expect(redactDeviceUri(parseDeviceUri("mqtt://u:secret@h:1/d"))).toBe("mqtt://u:***@h:1/d");
  });
});
