// The bridge's MQTT connection: credentials, TLS files, a last will, and TCP_NODELAY on every
// (re)connected socket. Without no-delay a QoS 1 request/response round trip on loopback costs ~44 ms
// of Nagle + delayed-ACK waiting instead of ~0.1 ms.
import { readFileSync } from "node:fs";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { mqttLog } from "../../protocol/transport/mqtt.js";

export interface MqttConnectOptions {
  url: string;
  username?: string;
  password?: string;
  /** Paths to PEM files. */
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  clientId?: string;
  will?: { topic: string; payload: string; qos: 0 | 1; retain: boolean };
  /** Milliseconds between reconnect attempts (mqtt.js backs off on its own after failures). */
  reconnectPeriod?: number;
  keepalive?: number;
  /** Persistent session: queued QoS 1 requests survive a reconnect of this client. */
  clean?: boolean;
}

/** Sets TCP_NODELAY on the client's current socket; called on every connect since reconnects make new sockets. */
export function setNoDelay(client: MqttClient): void {
  const s = client.stream as unknown as { setNoDelay?: (v: boolean) => void; socket?: { setNoDelay?: (v: boolean) => void } };
  s.setNoDelay?.(true);
  s.socket?.setNoDelay?.(true);
}

/**
 * Coalesces the socket writes of one event-loop iteration into one syscall. mqtt.js writes every packet
 * on its own tick, so a thousand heartbeats and acks would cost a thousand writes; corking until
 * setImmediate batches them, at the cost of at most one loop iteration of latency.
 */
export function coalesceWrites(client: MqttClient): void {
  const s = client.stream as unknown as {
    write: (...a: unknown[]) => boolean;
    cork?: () => void;
    uncork?: () => void;
    __invertCoalesced?: boolean;
  };
  if (!s || s.__invertCoalesced || !s.cork || !s.uncork) return;
  s.__invertCoalesced = true;
  const write = s.write.bind(s);
  let held = false;
  s.write = (...a: unknown[]) => {
    if (!held) {
      held = true;
      s.cork!();
      setImmediate(() => {
        held = false;
        s.uncork!();
      });
    }
    return write(...a);
  };
}

export function mqttClientOptions(o: MqttConnectOptions): IClientOptions {
  const read = (p: string | undefined, field: string) => {
    if (!p) return undefined;
    try {
      return readFileSync(p);
    } catch (e) {
      throw new Error(`mqtt.${field}: cannot read ${p} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  return {
    username: o.username,
    password: o.password,
    ca: read(o.ca, "ca"),
    cert: read(o.cert, "cert"),
    key: read(o.key, "key"),
    rejectUnauthorized: o.rejectUnauthorized ?? true,
    clientId: o.clientId,
    will: o.will,
    reconnectPeriod: o.reconnectPeriod ?? 1000,
    connectTimeout: 10_000,
    keepalive: o.keepalive ?? 30,
    clean: o.clean ?? true,
    // A QoS 0 publish made during an outage is worthless by the time the broker is back (state is
    // republished on connect; heartbeats and telemetry-only state are superseded): mqtt.js would otherwise
    // queue them without bound and replay them after newer messages.
    queueQoSZero: false,
    protocolVersion: 4,
    log: mqttLog,
  };
}

/** Connects (resolving on the first CONNACK) and keeps TCP_NODELAY set across reconnects. */
export function connectMqtt(o: MqttConnectOptions): Promise<MqttClient> {
  const client = mqtt.connect(o.url, mqttClientOptions(o));
  client.on("connect", () => {
    setNoDelay(client);
    coalesceWrites(client);
  });
  // Errors are reported through the first-connect promise or left to mqtt.js's reconnect loop.
  client.on("error", () => undefined);
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      client.off("connect", onConnect);
      client.end(true);
      reject(new Error(`mqtt ${redact(o.url)}: ${e.message}`));
    };
    const onConnect = () => {
      setNoDelay(client);
      coalesceWrites(client);
      client.off("error", onError);
      resolve(client);
    };
    client.once("connect", onConnect);
    client.once("error", onError);
  });
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
