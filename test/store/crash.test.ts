import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/index.js";
import { tempDir } from "./tmp.js";

const script = fileURLToPath(new URL("./fixtures/crash-writer.ts", import.meta.url));

describe("crash recovery", () => {
  it("a process killed with SIGKILL mid-session leaves a usable database and an aborted session", async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ["--import", "tsx", script, dir], { stdio: ["ignore", "pipe", "inherit"] });
    const lines = createInterface({ input: child.stdout });
    let sessionId = 0;
    let flushes = 0;
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, sig) => resolve(sig)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("child never flushed")), 20_000);
      lines.on("line", (l) => {
        const m = /^session (\d+)/.exec(l);
        if (m) sessionId = Number(m[1]);
        if (l.startsWith("flushed") && ++flushes === 3) {
          clearTimeout(timer);
          child.kill("SIGKILL");
          resolve();
        }
      });
    });
    expect(await exited).toBe("SIGKILL");
    const store = openStore(dir);
    expect(store.recoveredSessions).toBe(1);
    const s = store.sessions.get(sessionId);
    expect(s.outcome).toBe("aborted");
    expect(s.reason).toBe("companion stopped");
    // The line is printed inside the flush transaction, so the first two flushes (about 10 samples
    // each at 10 Hz) are committed for sure; the third may be lost with the kill.
    expect(store.sessions.samples(sessionId).length).toBeGreaterThanOrEqual(10);
    expect(store.db.pragma("integrity_check", { simple: true })).toBe("ok");
    // Usable: new sessions can be written.
    const next = store.sessions.begin({ kind: "program", programName: "after", program: {} });
    expect(next).toBeGreaterThan(sessionId);
    store.close();
  });
});
