import { describe, expect, it } from "vitest";
import { LiveScreen } from "../../src/cli/live/screen.js";

/** A minimal terminal: applies the escape sequences LiveScreen uses to a list of rows. */
function terminal() {
  const rows: string[] = [""];
  let row = 0;
  let cursorVisible = true;
  const write = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      const rest = s.slice(i);
      const m = /^\u001b\[(\??)(\d*)([A-Za-z])/.exec(rest);
      if (m) {
        i += m[0].length - 1;
        if (m[3] === "A") row = Math.max(0, row - Number(m[2] || 1));
        else if (m[3] === "J") rows.splice(row + 1), (rows[row] = "");
        else if (m[1] === "?" && m[2] === "25") cursorVisible = m[3] === "h";
        continue;
      }
      if (s[i] === "\r") continue;
      if (s[i] === "\n") {
        row++;
        if (rows.length <= row) rows.push("");
        continue;
      }
      rows[row] = (rows[row] ?? "") + s[i];
    }
  };
  return { rows, write, cursor: () => cursorVisible };
}

describe("LiveScreen", () => {
  it("redraws its block in place and prints lines above it", () => {
    const t = terminal();
    const s = new LiveScreen(t.write);
    s.print("plan: beginner");
    s.draw(["RUNNING", "tilt 1"]);
    s.draw(["RUNNING", "tilt 2"]);
    expect(t.rows).toEqual(["plan: beginner", "RUNNING", "tilt 2", ""]);
    expect(t.cursor()).toBe(false);
    s.print("event A", ["RUNNING", "tilt 3", "keys"]);
    expect(t.rows).toEqual(["plan: beginner", "event A", "RUNNING", "tilt 3", "keys", ""]);
    s.draw(["DONE"]);
    expect(t.rows).toEqual(["plan: beginner", "event A", "DONE", ""]);
    s.close();
    expect(t.rows).toEqual(["plan: beginner", "event A", ""]);
    expect(t.cursor()).toBe(true);
  });
});
