import { describe, expect, it } from "vitest";
import { hasTool, planRealIo, toolPath } from "../helpers/real-io.js";

describe("real-io tool lookup", () => {
  it("finds an executable on PATH and reports a missing one", () => {
    expect(hasTool("sh")).toBe(true);
    expect(toolPath("sh")).toMatch(/\/sh$/);
    expect(hasTool("invert-no-such-tool-9f3a")).toBe(false);
  });

  it("runs when every tool is there, fails under REQUIRE_REAL_IO=1 and skips otherwise, naming what is missing", () => {
    const has = (t: string) => t === "socat";
    expect(planRealIo(["socat"], true, has)).toEqual({ kind: "run" });
    const fail = planRealIo(["socat", "mosquitto"], true, has);
    expect(fail.kind).toBe("fail");
    expect(fail.kind === "fail" && fail.message).toMatch(/REQUIRE_REAL_IO=1 but mosquitto not installed/);
    expect(planRealIo(["mosquitto"], false, has)).toEqual({ kind: "skip", reason: "mosquitto not installed" });
  });
});
