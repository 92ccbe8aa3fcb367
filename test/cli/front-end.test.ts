// The terminal front end's wiring: keys reach the session, Ctrl-C (raw byte or signal) reaches the
// interrupt handler, the terminal is restored, and each output mode prints what it should.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { createFrontEnd } from "../../src/cli/live/front-end.js";
import { getBuiltin } from "../../src/programs/library.js";
import { parseDeviceUri } from "../../src/link/device-uri.js";
import type { RunContext, RunIO } from "../../src/cli/commands/run.js";
import type { SessionHandle, SessionPhase, SessionSnapshot, SessionSummary } from "../../src/session/run-session.js";

function fakeSession() {
  let phase: SessionPhase = "running";
  const calls: string[] = [];
  let finish!: (s: SessionSummary) => void;
  const done = new Promise<SessionSummary>((r) => (finish = r));
  const snapshot = (): SessionSnapshot => ({
    phase,
    state: phase,
    elapsedS: 10,
    programS: 10,
    tilt: 5,
    link: { status: "up", stale: false, lostAcks: 0, retries: 0, rxDrops: 0 },
    discomfort: false,
    safety: "none",
  });
  const handle: SessionHandle = {
    pause: () => (calls.push("pause"), (phase = "paused"), true),
    resume: () => (calls.push("resume"), (phase = "running"), true),
    stop: () => void calls.push("stop"),
    discomfort: (k) => void calls.push(`discomfort:${k}`),
    snapshot,
    onUpdate: () => () => undefined,
    onSample: () => () => undefined,
    onEvent: () => () => undefined,
    abandon: () => undefined,
    done,
  };
  const summary: SessionSummary = {
    outcome: "aborted",
    program: "beginner",
    maxAngle: 5,
    maxSpeed: 2,
    maxForce: 0,
    durationS: 30,
    events: [],
    limits: undefined,
    discomfort: false,
    link: { lostAcks: 0, retries: 0, rxFrames: 1, rxDrops: 0, losses: 0, reboots: 0 },
  };
  return { handle, calls, end: () => finish(summary) };
}

function fakeStdin(isTTY: boolean) {
  const modes: boolean[] = [];
  const s = Object.assign(new EventEmitter(), { isTTY, setRawMode: (m: boolean) => modes.push(m), resume: () => undefined, pause: () => undefined });
  return { s, modes };
}

function sink(isTTY: boolean) {
  let text = "";
  return { out: { isTTY, columns: 100, write: (t: string) => (text += t) }, text: () => text };
}

const ctx = (): RunContext => ({ conn: { uri: parseDeviceUri("sim") } as RunContext["conn"], program: getBuiltin("beginner")!, guest: true });

const baseIO = (): RunIO & { errText: () => string } => {
  let e = "";
  return { out: () => undefined, err: (t) => void (e += t), errText: () => e, now: () => new Date("2026-01-01T10:00:00Z") };
};

describe("front end", () => {
  it("keys: space pauses then resumes, s stops, p and d report discomfort, Ctrl-C goes to the interrupt handler", async () => {
    const { s: stdin, modes } = fakeStdin(true);
    const out = sink(false);
    const fe = createFrontEnd(baseIO(), { json: false, stdout: out.out, stderr: out.out, stdin });
    const { handle, calls, end } = fakeSession();
    let interrupts = 0;
    const off = fe.io.onInterrupt!(() => interrupts++);
    const cleanup = fe.extend({}).attach!(handle, ctx());
    expect(modes).toEqual([true]);
    stdin.emit("data", Buffer.from("  s"));
    stdin.emit("data", Buffer.from("pd"));
    expect(calls).toEqual(["pause", "resume", "stop", "discomfort:pain", "discomfort:dizziness"]);
    expect(fe.interrupted()).toBe(false);
    stdin.emit("data", Buffer.from("\u0003"));
    process.emit("SIGINT");
    expect(interrupts).toBe(2);
    expect(fe.interrupted()).toBe(true);
    off();
    end();
    if (typeof cleanup === "function") await cleanup();
    expect(modes).toEqual([true, false]);
    stdin.emit("data", Buffer.from("p"));
    expect(calls.filter((c) => c.startsWith("discomfort"))).toHaveLength(2);
  });

  it("piped: a timestamped plan line on stderr, no escape codes, no keys, plain progress left on", async () => {
    const { s: stdin, modes } = fakeStdin(false);
    const out = sink(false);
    const io = baseIO();
    const fe = createFrontEnd(io, { json: false, stdout: out.out, stderr: out.out, stdin });
    const ext = fe.extend({});
    expect(ext.plainProgress).toBeUndefined();
    const { handle, end } = fakeSession();
    const cleanup = ext.attach!(handle, ctx());
    end();
    if (typeof cleanup === "function") await cleanup();
    expect(modes).toEqual([]);
    expect(io.errText()).toMatch(/^\[10:00:00\] plan: beginner: 2 steps, .*max angle 20°/);
    expect(out.text()).toBe("");
  });

  it("terminal: preview, live area and summary on stdout; plain progress off; keeps other extensions' attach", async () => {
    const { s: stdin } = fakeStdin(true);
    const out = sink(true);
    const fe = createFrontEnd(baseIO(), { json: false, stdout: out.out, stderr: out.out, stdin, refreshMs: 60_000 });
    let theirs = 0;
    const ext = fe.extend({ attach: () => () => void theirs++ });
    expect(ext.plainProgress).toBe(false);
    const { handle, end } = fakeSession();
    const cleanup = ext.attach!(handle, ctx());
    expect(out.text()).toMatch(/plan: beginner/);
    expect(out.text()).toMatch(/RUNNING/);
    fe.io.err("invert: a note\n");
    end();
    if (typeof cleanup === "function") await cleanup();
    expect(theirs).toBe(1);
    const text = out.text();
    expect(text).toMatch(/invert: a note/);
    const visible = text.replace(/\u001b\[\??\d*[A-Za-z]/g, "").replace(/\r/g, "");
    expect(visible.trimEnd().split("\n").at(-2)).toBe("session aborted: beginner");
    // The cursor is shown again at the end.
    expect(text).toContain("\u001b[?25h");
  });

  it("--json on a terminal: no live view (stdout is for the summary), keys still work", () => {
    const { s: stdin, modes } = fakeStdin(true);
    const out = sink(true);
    const fe = createFrontEnd(baseIO(), { json: true, stdout: out.out, stderr: out.out, stdin });
    const ext = fe.extend({});
    expect(ext.plainProgress).toBeUndefined();
    const { handle, calls } = fakeSession();
    ext.attach!(handle, ctx());
    stdin.emit("data", "s");
    expect(calls).toEqual(["stop"]);
    expect(modes).toEqual([true]);
    expect(out.text()).toBe("");
  });
});
