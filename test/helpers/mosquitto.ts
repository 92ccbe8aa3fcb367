// A real mosquitto broker on a private 127.0.0.1 port, for MQTT tests against the reference broker.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canConnect, freePort } from "./net.js";
import { spawnUntilReady } from "./process.js";
import { toolPath } from "./real-io.js";

export interface MosquittoBroker {
  url: string;
  port: number;
  /** Graceful shutdown (SIGTERM), resolves when the process has exited. */
  stop(): Promise<void>;
  /** Abrupt crash (SIGKILL): clients see the TCP connection die without a DISCONNECT. */
  kill(): Promise<void>;
  readonly process: ChildProcess;
}

export interface MosquittoOptions {
  /** Reuse a port, e.g. to restart a broker that tests have stopped. */
  port?: number;
  /** Extra mosquitto.conf lines (password_file, TLS, ...). */
  extraConf?: string[];
  timeoutMs?: number;
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const bin = toolPath("mosquitto");
  if (!bin) throw new Error("mosquitto is not installed");
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "invert-mosq-"));
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false", "log_dest stderr", "set_tcp_nodelay true", ...(opts.extraConf ?? [])].join("\n") + "\n",
  );
  const tool = await spawnUntilReady(bin, ["-c", conf], () => canConnect(port), {
    timeoutMs: opts.timeoutMs ?? 5000,
    what: "mosquitto",
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    stop: () => tool.end("SIGTERM"),
    kill: () => tool.end("SIGKILL"),
    process: tool.process,
  };
}
