// One MQTT connection carrying the device links of every MQTT-native device a bridge serves on a broker.
// A thousand devices on a thousand sockets cost a thousand write syscalls per telemetry round; on one
// socket the writes coalesce. Each device still gets its own MessageTransport with the same topics,
// decoding and drop accounting as protocol/transport/mqtt.ts (companion role).
import type { MqttClient } from "mqtt";
import {
  ACCEPTS,
  CHANNELS,
  channelFor,
  decodeMqttPayload,
  emptyDropCounters,
  isStaleRetained,
  type AnyMsg,
  type Channel,
  type DropReason,
  type MessageTransport,
  type TransportHandlers,
  type TransportStats,
} from "../../protocol/index.js";
import { forgetUnackedOnClose, mqttPublication } from "../../protocol/transport/mqtt.js";

const FROM_DEVICE: Channel[] = (Object.keys(CHANNELS) as Channel[]).filter((c) => CHANNELS[c].direction === "fromDevice");

export class MqttMux {
  private readonly routes = new Map<string, MuxTransport>();

  constructor(
    readonly client: MqttClient,
    readonly root: string,
  ) {
    client.on("message", (topic, payload, packet) => this.route(topic, payload, packet.retain));
    // Every publish on this connection is a device command: one in flight when the broker went away must
    // not be sent again after the reconnect (send() already refuses while disconnected).
    forgetUnackedOnClose(client);
  }

  /** A companion-side transport for one device; its topics are subscribed on the shared connection. */
  open(deviceId: string): MessageTransport {
    if (this.routes.has(deviceId)) throw new Error(`mqtt: device "${deviceId}" is already open on this connection`);
    const t = new MuxTransport(this, deviceId);
    this.routes.set(deviceId, t);
    const subs: Record<string, { qos: 0 | 1 }> = {};
    for (const c of FROM_DEVICE) subs[`${this.root}/${deviceId}/${c}`] = { qos: CHANNELS[c].qos };
    // mqtt.js resubscribes these after every reconnect.
    this.client.subscribe(subs);
    return t;
  }

  /** @internal */
  release(deviceId: string): void {
    this.routes.delete(deviceId);
    this.client.unsubscribe(FROM_DEVICE.map((c) => `${this.root}/${deviceId}/${c}`));
  }

  get size(): number {
    return this.routes.size;
  }

  private route(topic: string, payload: Buffer, retained: boolean): void {
    if (!topic.startsWith(this.root) || topic.charCodeAt(this.root.length) !== 47 /* / */) return;
    const rest = topic.slice(this.root.length + 1);
    const slash = rest.indexOf("/");
    if (slash < 0) return;
    const t = this.routes.get(rest.slice(0, slash));
    if (!t) return;
    const channel = rest.slice(slash + 1);
    if (!(FROM_DEVICE as string[]).includes(channel)) return;
    t.receive(channel as Channel, topic, payload, retained);
  }
}

class MuxTransport implements MessageTransport {
  private handlers: TransportHandlers = { onMessage: () => {} };
  private readonly drops = emptyDropCounters();
  private rxFrames = 0;
  private txFrames = 0;
  private closed = false;

  constructor(
    private readonly mux: MqttMux,
    private readonly deviceId: string,
  ) {}

  setHandlers(h: TransportHandlers): void {
    this.handlers = h;
  }

  get stats(): TransportStats {
    return { rxFrames: this.rxFrames, txFrames: this.txFrames, drops: { ...this.drops } };
  }

  send(msg: AnyMsg): void {
    if (this.closed) return;
    if (ACCEPTS.companion.has(msg.type)) throw new Error(`mqtt: a companion cannot send "${msg.type}"`);
    // Never queued while the broker is away: a stale command delivered later is unsafe.
    if (!this.mux.client.connected) return;
    const pub = mqttPublication(msg, this.deviceId, this.mux.root);
    this.txFrames++;
    // A heartbeat is periodic and never acknowledged: QoS 0 spares the broker, the device and this
    // connection a PUBACK each (five a second per device), and a heartbeat is never redelivered late.
    const qos = msg.type === "hb" ? 0 : pub.qos;
    // No callback: for a QoS 0 publish mqtt.js would hold one 'drain' listener per message whenever the
    // socket buffer is full, thousands of them on a busy connection.
    this.mux.client.publish(pub.topic, pub.payload, { qos, retain: pub.retain });
  }

  receive(channel: Channel, topic: string, payload: Buffer, retained: boolean): void {
    if (this.closed || channel === "status") return;
    // As in protocol/transport/mqtt.ts: a retained ack, tlm or evt is a leftover, and a stale sample
    // would make a dead device look alive.
    if (isStaleRetained(channel, retained)) {
      this.drop("type", `${topic}: retained message on a channel that is never retained (stale)`);
      return;
    }
    const r = decodeMqttPayload(payload, ACCEPTS.companion);
    if (!r.ok) {
      this.drop(r.reason, `${topic}: ${r.detail}`);
      return;
    }
    if (channelFor(r.msg.type) !== channel) {
      this.drop("type", `"${r.msg.type}" on ${topic}`);
      return;
    }
    this.rxFrames++;
    this.handlers.onMessage(r.msg);
  }

  private drop(reason: DropReason, detail: string): void {
    this.drops[reason]++;
    this.handlers.onDrop?.(reason, detail);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.mux.release(this.deviceId);
    this.handlers.onClose?.();
  }
}
