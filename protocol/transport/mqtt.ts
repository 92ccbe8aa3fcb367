// The MQTT mapping of the protocol (PROTOCOL.md section "MQTT"): the same JSON payloads as the serial
// frames, without the CRC suffix (MQTT runs over TCP, which has its own checksums), one topic per channel.
// One class serves both roles; the role decides what is published where and what is accepted.
import type { Socket } from "node:net";
import mqtt from "mqtt";
import type { IClientOptions, MqttClient } from "mqtt";
import { decodeMqttPayload, encodeJson, type DropReason } from "../codec.js";
import { emptyDropCounters } from "../frame-reader.js";
import type { AnyMsg } from "../messages.js";
import { CHANNELS, DEFAULT_ROOT, OFFLINE, ONLINE, channelFor, isStaleRetained, isValidDeviceId, topic, type Channel } from "../mqtt-topics.js";
import { ACCEPTS, type MessageTransport, type Role, type TransportHandlers, type TransportStats } from "./types.js";

export type DeviceStatus = "online" | "offline" | "unknown";

export interface MqttTransportOptions {
  /** mqtt://host:port or mqtts://host:port (TLS). */
  url: string;
  deviceId: string;
  role: Role;
  /** First topic level; default "invert". */
  root?: string;
  username?: string;
  password?: string;
  /** TLS material for mqtts:// (PEM). */
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true; only a test against a self-signed broker should turn it off. */
  rejectUnauthorized?: boolean;
  clientId?: string;
  /** Reconnect backoff: first delay, doubled per failed attempt up to the maximum. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** How long `connect` waits for the first connection before giving up. */
  connectTimeoutMs?: number;
  /** MQTT keepalive in seconds: how fast the broker notices a dead device and publishes its last will. */
  keepaliveS?: number;
}

/**
 * mqtt.js logs every packet through `debug`; even switched off, that call costs a few percent of the CPU
 * of a busy client. Unless DEBUG asks for mqtt.js's output (a pattern naming mqtt, or `*`, which enables
 * every namespace), the clients get a logger that does nothing.
 */
export const mqttLog: ((...args: unknown[]) => void) | undefined = /mqtt|(^|[\s,])\*/.test(process.env.DEBUG ?? "") ? undefined : () => undefined;

/**
 * mqtt.js keeps every unacknowledged QoS 1 publish in its outgoing store and sends it again once the client
 * reconnects, even on a clean session (unless the reconnect brings a new store). A command sent again after
 * an outage reaches the device when it no longer means what it meant (a `move` after the watchdog returned
 * the user, say), so on a lost connection the unacknowledged publishes `drop` selects are forgotten; their
 * callbacks get an error.
 */
export function forgetUnackedOnClose(client: MqttClient, drop: (topic: string) => boolean = () => true): void {
  client.on("close", () => {
    for (const [id, pending] of Object.entries(client.outgoing)) {
      if (pending.cmd !== "publish") continue;
      const messageId = Number(id);
      let topic: string | undefined;
      // The built-in store answers synchronously; a store that does not is left alone.
      client.outgoingStore.get({ messageId }, (err, packet) => {
        if (!err && packet?.cmd === "publish") topic = packet.topic;
      });
      if (topic !== undefined && drop(topic)) client.removeOutgoingMessage(messageId);
    }
  });
}

export type LinkState = "connected" | "disconnected";

/**
 * A connection failure with an errno-style `code`: the socket's own (ECONNREFUSED, ENOTFOUND, ...),
 * EACCES for refused credentials, EPROTO for an untrusted certificate, ETIMEDOUT otherwise; EINVAL for
 * bad options.
 */
export class MqttError extends Error {
  override name = "MqttError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The payload a transport would publish for `msg`, and where (exported for the docs generator and tests). */
export function mqttPublication(msg: AnyMsg, deviceId: string, root = DEFAULT_ROOT) {
  const channel = channelFor(msg.type);
  const spec = CHANNELS[channel];
  return { topic: topic(deviceId, channel, root), payload: encodeJson(msg), qos: spec.qos, retain: spec.retain };
}

export class MqttTransport implements MessageTransport {
  private handlers: TransportHandlers = { onMessage: () => {} };
  private readonly drops = emptyDropCounters();
  private rxFrames = 0;
  private txFrames = 0;
  /** Messages not published because the broker connection was down (never queued: stale commands are unsafe). */
  txDropped = 0;
  private closed = false;
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private lastCaps: string | undefined;
  private status: DeviceStatus = "unknown";
  private readonly statusCbs = new Set<(s: DeviceStatus) => void>();
  private readonly linkCbs = new Set<(s: LinkState) => void>();
  private readonly root: string;
  private readonly topics: Record<Channel, string>;

  private constructor(
    private readonly client: MqttClient,
    private readonly opts: MqttTransportOptions,
  ) {
    this.root = opts.root ?? DEFAULT_ROOT;
    this.topics = {
      cmd: topic(opts.deviceId, "cmd", this.root),
      ack: topic(opts.deviceId, "ack", this.root),
      tlm: topic(opts.deviceId, "tlm", this.root),
      evt: topic(opts.deviceId, "evt", this.root),
      caps: topic(opts.deviceId, "caps", this.root),
      status: topic(opts.deviceId, "status", this.root),
    };
    client.on("connect", () => this.onConnect());
    client.on("close", () => this.onDisconnect());
    client.on("message", (t, payload, packet) => this.onPublish(t, payload, packet.retain));
    client.on("error", (err) => this.onError(err));
  }

  /**
   * Connects and subscribes; resolves once the first connection is up. Rejects with one clear line when
   * the broker cannot be reached within `connectTimeoutMs` or refuses the credentials. Later connection
   * losses reconnect by themselves with exponential backoff.
   */
  static connect(opts: MqttTransportOptions): Promise<MqttTransport> {
    const root = opts.root ?? DEFAULT_ROOT;
    if (!isValidDeviceId(opts.deviceId)) {
      return Promise.reject(new MqttError(`mqtt: deviceId "${opts.deviceId}" must be 1-64 of A-Z a-z 0-9 _ -`, "EINVAL"));
    }
    if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(root)) {
      return Promise.reject(new MqttError(`mqtt: root "${root}" must be topic levels of A-Z a-z 0-9 _ -`, "EINVAL"));
    }
    if (!/^mqtts?:\/\//.test(opts.url)) return Promise.reject(new MqttError(`mqtt: url "${opts.url}" must start with mqtt:// or mqtts://`, "EINVAL"));
    const copts: IClientOptions = {
      protocolVersion: 4,
      clean: true,
      keepalive: opts.keepaliveS ?? 5,
      log: mqttLog,
      // Reconnection is driven here (with backoff), not by the library's fixed-period timer.
      reconnectPeriod: 0,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      queueQoSZero: false,
      resubscribe: false,
      clientId: opts.clientId ?? `invert-${opts.role}-${opts.deviceId}-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`,
    };
    if (opts.username !== undefined) copts.username = opts.username;
    if (opts.password !== undefined) copts.password = opts.password;
    if (opts.ca !== undefined) copts.ca = opts.ca;
    if (opts.cert !== undefined) copts.cert = opts.cert;
    if (opts.key !== undefined) copts.key = opts.key;
    if (opts.rejectUnauthorized !== undefined) copts.rejectUnauthorized = opts.rejectUnauthorized;
    if (opts.role === "device") {
      // The broker publishes this when the device vanishes without a clean disconnect (crash, power, network).
      copts.will = { topic: topic(opts.deviceId, "status", root), payload: Buffer.from(OFFLINE), qos: 1, retain: true };
    }
    const client = mqtt.connect(opts.url, copts);
    // send() drops commands while the broker is away; this covers the ones in flight when it went (the
    // reconnect below starts mqtt.js on a fresh store anyway, but its callbacks would never be called).
    if (opts.role === "companion") forgetUnackedOnClose(client);
    const t = new MqttTransport(client, opts);
    const timeoutMs = (opts.connectTimeoutMs ?? 10_000) + 1000;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string, code: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        t.linkCbs.delete(onLink);
        void t.shutdown(false).then(() => reject(new MqttError(`mqtt ${redact(opts.url)}: ${why}`, code)));
      };
      const timer = setTimeout(() => fail(`no connection within ${timeoutMs} ms (${t.lastError ?? "no answer"})`, t.lastErrno ?? "ETIMEDOUT"), timeoutMs);
      const onLink = (s: LinkState): void => {
        if (s !== "connected" || settled) return;
        settled = true;
        clearTimeout(timer);
        t.linkCbs.delete(onLink);
        // From now on a refusal (a broker that comes back with other credentials or another certificate)
        // ends the transport through onClose instead of rejecting a promise that has already resolved.
        t.fatal = undefined;
        resolve(t);
      };
      t.linkCbs.add(onLink);
      t.fatal = (err) => fail(err.message, err.code);
    });
  }

  private lastError: string | undefined;
  private lastErrno: string | undefined;
  private fatal: ((err: MqttError) => void) | undefined;

  setHandlers(h: TransportHandlers): void {
    this.handlers = h;
  }

  get stats(): TransportStats {
    return { rxFrames: this.rxFrames, txFrames: this.txFrames, drops: { ...this.drops } };
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** The device's last announced status (companion role; a device reports its own as online). */
  get deviceStatus(): DeviceStatus {
    return this.status;
  }

  /** Called with the device's retained online/offline status (companion role). Returns an unsubscribe. */
  onDeviceStatus(cb: (s: DeviceStatus) => void): () => void {
    this.statusCbs.add(cb);
    return () => this.statusCbs.delete(cb);
  }

  /** Called when the broker connection comes up or goes down. Returns an unsubscribe. */
  onLinkState(cb: (s: LinkState) => void): () => void {
    this.linkCbs.add(cb);
    return () => this.linkCbs.delete(cb);
  }

  send(msg: AnyMsg): void {
    if (this.closed) return;
    const isDeviceMsg = ACCEPTS.companion.has(msg.type);
    if (isDeviceMsg !== (this.opts.role === "device")) {
      throw new Error(`mqtt: a ${this.opts.role} cannot send "${msg.type}"`);
    }
    const pub = mqttPublication(msg, this.opts.deviceId, this.root);
    // Caps are retained and re-published after every reconnect, so a broker restart cannot lose them.
    if (msg.type === "caps") this.lastCaps = pub.payload;
    if (!this.client.connected) {
      this.txDropped++;
      return;
    }
    this.txFrames++;
    this.client.publish(pub.topic, pub.payload, { qos: pub.qos, retain: pub.retain }, () => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.shutdown(true);
    this.handlers.onClose?.();
  }

  private async shutdown(graceful: boolean): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    if (graceful && this.opts.role === "device" && this.client.connected) {
      // A clean disconnect suppresses the last will, so say offline explicitly.
      await bounded(new Promise<void>((resolve) => this.client.publish(this.topics.status, OFFLINE, { qos: 1, retain: true }, () => resolve())));
    }
    // A graceful end waits for in-flight QoS 1 messages, which a broker that restarted never acknowledges:
    // bound the wait, then drop the connection.
    const ended = await bounded(new Promise<boolean>((resolve) => this.client.end(!graceful, {}, () => resolve(true))));
    if (!ended) await new Promise<void>((resolve) => this.client.end(true, {}, () => resolve()));
  }

  private onConnect(): void {
    this.attempts = 0;
    // Nagle's algorithm would hold small acks and commands for up to 40 ms behind delayed ACKs.
    (this.client.stream as unknown as Partial<Socket>).setNoDelay?.(true);
    const t = this.topics;
    if (this.opts.role === "device") {
      this.client.subscribe(t.cmd, { qos: 1 });
      this.client.publish(t.status, ONLINE, { qos: 1, retain: true });
      this.status = "online";
      if (this.lastCaps) this.client.publish(t.caps, this.lastCaps, { qos: 1, retain: true });
    } else {
      this.client.subscribe({ [t.caps]: { qos: 1 }, [t.ack]: { qos: 1 }, [t.tlm]: { qos: 0 }, [t.evt]: { qos: 1 }, [t.status]: { qos: 1 } });
    }
    for (const cb of [...this.linkCbs]) cb("connected");
  }

  private onDisconnect(): void {
    if (this.closed) return;
    for (const cb of [...this.linkCbs]) cb("disconnected");
    if (this.reconnectTimer) return;
    const min = this.opts.reconnectMinMs ?? 250;
    const max = this.opts.reconnectMaxMs ?? 10_000;
    // Exponential backoff with jitter, so a fleet does not hammer a broker that just restarted.
    const base = Math.min(max, min * 2 ** Math.min(this.attempts, 16));
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closed) this.client.reconnect();
    }, delay);
  }

  private onError(err: Error & { code?: unknown }): void {
    this.lastError = err.message;
    if (typeof err.code === "string" && /^E[A-Z]+$/.test(err.code)) this.lastErrno = err.code;
    // Refused credentials or authorization never fix themselves: stop instead of retrying forever.
    const code = err.code;
    const refused = typeof code === "number" && [4, 5, 134, 135].includes(code);
    // Likewise an untrusted or mismatched TLS certificate.
    const badCert = typeof code === "string" && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
    if ((refused || badCert) && !this.closed) {
      const e = refused ? new MqttError(`broker refused the connection: ${err.message}`, "EACCES") : new MqttError(`TLS: ${err.message}`, "EPROTO");
      if (this.fatal) this.fatal(e);
      else void this.shutdown(false).then(() => this.handlers.onClose?.(e));
    }
  }

  private onPublish(t: string, payload: Buffer, retained: boolean): void {
    const channel = this.channelOf(t);
    if (channel === "status") {
      this.onStatus(payload);
      return;
    }
    if (channel === undefined) return;
    if (isStaleRetained(channel, retained)) {
      this.drop("type", `${t}: retained message on a channel that is never retained (stale)`);
      return;
    }
    const r = decodeMqttPayload(payload, ACCEPTS[this.opts.role]);
    if (!r.ok) {
      this.drop(r.reason, `${t}: ${r.detail}`);
      return;
    }
    if (channelFor(r.msg.type) !== channel) {
      this.drop("type", `"${r.msg.type}" on ${t}`);
      return;
    }
    this.rxFrames++;
    this.handlers.onMessage(r.msg);
  }

  private channelOf(t: string): Channel | undefined {
    for (const c of Object.keys(this.topics) as Channel[]) if (this.topics[c] === t) return c;
    return undefined;
  }

  private onStatus(payload: Buffer): void {
    if (this.opts.role === "device") return;
    // An empty retained payload clears the topic: nothing is known about the device then.
    let state: DeviceStatus = "unknown";
    if (payload.length > 0) {
      try {
        const v = JSON.parse(payload.toString("utf8")) as { state?: unknown };
        if (v.state === "online" || v.state === "offline") state = v.state;
      } catch {
        state = "unknown";
      }
    }
    this.status = state;
    for (const cb of [...this.statusCbs]) cb(state);
  }

  private drop(reason: DropReason, detail: string): void {
    this.drops[reason]++;
    this.handlers.onDrop?.(reason, detail);
  }
}

/** Resolves with the promise's value, or undefined after `ms`. */
async function bounded<T>(p: Promise<T>, ms = 1000): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
