import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { keyCommands, listenKeys, type KeyCommand } from "../../src/cli/live/keys.js";

describe("keys", () => {
  it("maps space, s, p, d and Ctrl-C; ignores everything else, arrow keys included", () => {
    expect(keyCommands(" ")).toEqual(["toggle-pause"]);
    expect(keyCommands("sS")).toEqual(["stop", "stop"]);
    expect(keyCommands("pd")).toEqual(["discomfort-pain", "discomfort-dizziness"]);
    expect(keyCommands("\u0003\u0003")).toEqual(["interrupt", "interrupt"]);
    // ESC [ A (up) and ESC O P (F1) hold letters that must not count as keys.
    expect(keyCommands("\u001b[A\u001bOPxq\r")).toEqual([]);
    expect(keyCommands("\u001b[1;5Ds")).toEqual(["stop"]);
  });

  it("raw mode while listening, restored (and stdin paused) afterwards", () => {
    const raw: boolean[] = [];
    const input = Object.assign(new EventEmitter(), {
      isTTY: true,
      setRawMode: (m: boolean) => raw.push(m),
      paused: false,
      resume() {
        this.paused = false;
      },
      pause() {
        this.paused = true;
      },
    });
    const got: KeyCommand[] = [];
    const stop = listenKeys(input, (c) => got.push(c));
    input.emit("data", Buffer.from("p \u0003"));
    expect(got).toEqual(["discomfort-pain", "toggle-pause", "interrupt"]);
    stop();
    stop();
    input.emit("data", Buffer.from("s"));
    expect(got).toHaveLength(3);
    expect(raw).toEqual([true, false]);
    expect(input.paused).toBe(true);
  });
});
