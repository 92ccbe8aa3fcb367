import { describe, expect, it } from "vitest";
import { hasTool, toolPath } from "../helpers/real-io.js";

describe("real-io tool lookup", () => {
  it("finds an executable on PATH and reports a missing one", () => {
    expect(hasTool("sh")).toBe(true);
    expect(toolPath("sh")).toMatch(/\/sh$/);
    expect(hasTool("invert-no-such-tool-9f3a")).toBe(false);
  });
});
