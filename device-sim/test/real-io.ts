// Helpers for driving the stand-alone simulator as a child process (`node bin/invert.js sim ...`) from a
// plain client built only on the protocol module, in real time with bounded waits on real events.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Sequencer, type AckMsg, type AnyMsg, type CapsMsg, type CompanionMsg, type EventMsg, type MessageTransport, type Outgoing, type TelemetryMsg } from "../../protocol/index.js";
import { waitFor } from "../../test/helpers/wait.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const INVERT_BIN = join(ROOT, "bin/invert.js");

/** A config with fast return speeds and short rests, so a real-time return takes seconds. */
export const FAST_CONFIG = {
  tlmHz: 20,
  watchdogMs: 500,
  tilt: {
    min: -30,
    upright: -30,
    max: 30,
    speedMax: 30,
    accelMax: 60,
    emergencyDecel: 120,
    driveAccel: 240,
    returnSpeed: 15,
    reducedSpeed: 5,
    approachSpeed: 1,
    approachZone: 2,
    restS: 0.5,
    pauseS: 0.5,
    settleMs: 200,
  },
};

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "invert-sim-"));
}

export function writeConfig(dir: string, cfg: unknown = FAST_CONFIG): string {
  const p = join(dir, "sim.json");
  writeFileSync(p, JSON.stringify(cfg));
  return p;
}

export interface SimProcess {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the simulator says it is serving. */
  ready(timeoutMs?: number): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnSim(args: string[]): SimProcess {
  const child = spawn(process.execPath, [INVERT_BIN, "sim", ...args], { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT });
  let err = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (s: string) => {
    if (err.length < 100_000) err += s;
  });
  child.stdout?.resume();
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once("exit", (code, signal) => {
      done = true;
      res({ code, signal });
    }),
  );
  return {
    child,
    stderr: () => err,
    exited,
    async ready(timeoutMs = 30_000) {
      await waitFor(() => / serving on /.test(err) || done, timeoutMs, "the simulator to start");
      if (done) throw new Error(`simulator exited early: ${err}`);
    },
    async kill(signal) {
      if (!done) child.kill(signal);
      return exited;
    },
  };
}

/** A minimal companion: only the protocol module's Sequencer and a MessageTransport. */
export class PlainClient {
  readonly seq = new Sequencer();
  readonly acks: AckMsg[] = [];
  readonly events: EventMsg[] = [];
  readonly tlm: { at: number; msg: TelemetryMsg }[] = [];
  readonly caps: CapsMsg[] = [];
  private hb?: ReturnType<typeof setInterval>;

  constructor(readonly t: MessageTransport) {
    t.setHandlers({
      onMessage: (m: AnyMsg) => {
        if (m.type === "ack") this.acks.push(m);
        else if (m.type === "evt") this.events.push(m);
        else if (m.type === "tlm") this.tlm.push({ at: Date.now(), msg: m });
        else if (m.type === "caps") this.caps.push(m);
      },
    });
  }

  send(m: Outgoing<CompanionMsg>): void {
    this.t.send(this.seq.stamp(m));
  }

  heartbeat(ms: number): void {
    this.stopHeartbeat();
    this.hb = setInterval(() => this.send({ type: "hb" }), ms);
  }

  stopHeartbeat(): void {
    clearInterval(this.hb);
    this.hb = undefined;
  }

  ack(id: string, result: string): AckMsg | undefined {
    return this.acks.find((a) => a.id === id && a.result === result);
  }

  event(code: string): EventMsg | undefined {
    return this.events.find((e) => e.code === code);
  }

  lastTlm(): TelemetryMsg | undefined {
    return this.tlm.at(-1)?.msg;
  }
}
