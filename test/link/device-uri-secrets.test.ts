// A password in a device URI must never reach an error line, a log or a stored summary: not when another
// part of the URI is wrong, not when the password itself holds an unescaped '@'.
import { describe, expect, it } from "vitest";
import { openDevice } from "../../src/link/connect.js";
import { parseDeviceUri, redactDeviceUri } from "../../src/link/device-uri.js";

function refusal(uri: string): string {
  try {
    parseDeviceUri(uri);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${uri} was accepted`);
}

describe("device URI passwords", () => {
  it.each([
    ["mqtt://u:hunter2@host/bad id!", /device id "bad id!"/],
    ["mqtt://u:hunter2@host:1883", /device id is missing/],
    ["mqtt://u:hunter2@host/a/b", /must be just \/<deviceId>/],
    ["mqtt://u:hunter2@host/d?ca=x.pem", /option "ca" needs mqtts/],
    ["mqtts://u:hunter2@host/d?cert=c.pem", /cert and key must be given together/],
    ["mqtts://u:hunter2@host/d?foo=1", /unknown option "foo"/],
    ["mqtt://u:hunter2@host/%E0%A4%A", /device id has an invalid %-escape/],
    ["mqtt://al%E0ce:hunter2@host/d", /user name has an invalid %-escape/],
    ["mqtt://u:hunter2@host:99999/d", /not a valid URL|port/],
    ["mqtt://u:hun#ter2@host/d", /not a valid URL/],
  ])("stay out of the error line for %s", (uri, why) => {
    const msg = refusal(uri);
    expect(msg).toMatch(why);
    expect(msg).not.toMatch(/hunter2|ter2/);
    expect(msg).toContain(":***@");
  });

  it("are hidden whole when they contain an unescaped '@'", () => {
    const d = parseDeviceUri("mqtt://u:p@ss@broker:1883/table-1");
    expect(d).toMatchObject({ host: "broker", username: "u", password: "p@ss" });
    expect(redactDeviceUri(d)).toBe("mqtt://u:***@broker:1883/table-1");
    expect(refusal("mqtt://u:p@ss@broker:1883/bad id")).not.toContain("ss@");
  });

  it("keep the rest of the URI readable", () => {
    expect(redactDeviceUri(parseDeviceUri("mqtts://u:pw@broker/t1?ca=/home/me@x/ca.pem"))).toBe("mqtts://u:***@broker/t1?ca=/home/me@x/ca.pem");
    expect(refusal("mqtt://host:1883/d?ca=me@x.pem")).toContain("mqtt://host:1883/d?ca=me@x.pem");
  });

  it("stay out of the line for an unreadable certificate file", async () => {
    let msg = "";
    try {
      await openDevice("mqtts://u:hunter2@127.0.0.1:1/d?ca=no-such-ca-file.pem");
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/cannot read ca file no-such-ca-file\.pem: ENOENT/);
    expect(msg).not.toContain("hunter2");
  });
});
