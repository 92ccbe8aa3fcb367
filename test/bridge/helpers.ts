// Test helpers for the bridge: an MQTT observer that records every message and waits for one that
// matches (bounded by a deadline, never a fixed sleep), and a recording BridgeDevice double.
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt, { type MqttClient } from "mqtt";
import type { ActionResult, BridgeDevice, DeviceInfo, DeviceState, StartRequest } from "../../src/bridge/device.js";
import { emptyState } from "../../src/bridge/device.js";
import { setNoDelay } from "../../src/bridge/mqtt-client.js";

export interface Seen {
  topic: string;
  text: string;
  retain: boolean;
}

export class Observer {
  readonly seen: Seen[] = [];
  private waiters: { pred: (m: Seen) => boolean; resolve: (m: Seen) => void }[] = [];
  private constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) => {
      const m = { topic, text: payload.toString("utf8"), retain: packet.retain };
      this.seen.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  static async connect(url: string, topics: string[]): Promise<Observer> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 200, protocolVersion: 4 });
    setNoDelay(client);
    client.on("connect", () => setNoDelay(client));
    const o = new Observer(client);
    if (topics.length) await client.subscribeAsync(topics, { qos: 1 });
    return o;
  }

  /** Resolves with the first message (already seen since `from`, or arriving) matching the predicate. */
  wait(pred: (m: Seen) => boolean, what: string, timeoutMs = 5000, from = 0): Promise<Seen> {
    const hit = this.seen.slice(from).find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (m: Seen) => { clearTimeout(timer); resolve(m); } };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; saw: ${this.seen.slice(-8).map((s) => `${s.topic}=${s.text.slice(0, 120)}`).join(" | ")}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  waitTopic(topic: string, pred: (v: Record<string, unknown>) => boolean = () => true, timeoutMs = 5000, from = 0): Promise<Record<string, unknown>> {
    return this.wait((m) => m.topic === topic && m.text !== "" && pred(JSON.parse(m.text) as Record<string, unknown>), topic, timeoutMs, from).then(
      (m) => JSON.parse(m.text) as Record<string, unknown>,
    );
  }

  /** Publishes a request and waits for the response carrying its transaction id. */
  async request(base: string, id: string, action: string, body: Record<string, unknown> | string, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const tx = typeof body === "string" ? undefined : body.transaction;
    const from = this.seen.length;
    await this.client.publishAsync(`${base}/${id}/request/${action}`, typeof body === "string" ? body : JSON.stringify(body), { qos: 1 });
    return this.waitTopic(`${base}/${id}/response/${action}`, (v) => tx === undefined || v.transaction === tx, timeoutMs, from);
  }

  count(pred: (m: Seen) => boolean): number {
    return this.seen.filter(pred).length;
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/** A BridgeDevice that records what it was asked, with a settable state. */
export class FakeDevice implements BridgeDevice {
  calls: string[] = [];
  st: DeviceState = { ...emptyState(), link: "online", phase: "ready", angle: -80, force: 0, mode: "idle", stop_switch: "ok", ankle_lock: true };
  private cbs = new Set<(u: boolean) => void>();
  constructor(readonly id: string, readonly inf: DeviceInfo = { model: "table", fw: "1.0.0", axes: { tilt: true, traction: false } }) {}
  info() {
    return this.inf;
  }
  state() {
    return this.st;
  }
  onChange(cb: (u: boolean) => void) {
    this.cbs.add(cb);
    return () => this.cbs.delete(cb);
  }
  set(patch: Partial<DeviceState>, urgent = false) {
    this.st = { ...this.st, ...patch };
    for (const cb of this.cbs) cb(urgent);
  }
  async start(req: StartRequest): Promise<ActionResult> {
    if (req.program !== "beginner") return { ok: false, reason: `unknown program "${String(req.program)}"` };
    this.calls.push(`start:${String(req.program)}`);
    this.set({ phase: "running", program: "beginner" }, true);
    return { ok: true };
  }
  pause(): ActionResult {
    this.calls.push("pause");
    return { ok: true };
  }
  resume(): ActionResult {
    this.calls.push("resume");
    return { ok: true };
  }
  stop(): ActionResult {
    this.calls.push("stop");
    return { ok: true };
  }
  discomfort(kind: string): ActionResult {
    this.calls.push(`discomfort:${kind}`);
    return { ok: true };
  }
  async returnUpright(): Promise<ActionResult> {
    this.calls.push("return");
    return { ok: true };
  }
  async clear(code?: string): Promise<ActionResult> {
    this.calls.push(`clear:${code ?? "*"}`);
    return { ok: true };
  }
  select(p: string): ActionResult {
    this.calls.push(`select:${p}`);
    return { ok: true };
  }
  async close() {
    this.calls.push("close");
  }
}

const BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), "../.."), "bin/invert.js");

/** `invert bridge` as a child process; its stderr is kept for the failure message of a test. */
export interface BridgeProcess {
  readonly child: ChildProcess;
  log(): string;
  /** SIGKILL unless it has already exited; resolves once it has. */
  kill(): Promise<void>;
}

export function spawnBridge(args: string[]): BridgeProcess {
  const child = spawn(process.execPath, [BIN, "bridge", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (s: string) => {
    log += s;
  });
  return {
    child,
    log: () => log,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    },
  };
}
