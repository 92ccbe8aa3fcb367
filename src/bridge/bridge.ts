// The bridge controller (Zigbee2MQTT style): one MQTT connection, one controller wiring availability,
// retained state, requests/responses and Home Assistant discovery for every served device. Devices are
// driven only through BridgeDevice, whose production implementation is the session controller, so the
// effective limits hold whoever publishes a request.
import { randomBytes } from "node:crypto";
import type { MqttClient } from "mqtt";
import { OFFLINE, ONLINE, type Clock } from "../../protocol/index.js";
import type { BridgeConfig, ResolvedDevice } from "./config.js";
import type { BridgeDevice, DeviceState } from "./device.js";
import { discoveryMessages, discoveryRemovals } from "./discovery.js";
import { connectMqtt, redact } from "./mqtt-client.js";
import { forgetUnackedOnClose } from "../../protocol/transport/mqtt.js";
import { claimBefore, OwnerMap, parseBridgeInfo, type BridgeInfo } from "./ownership.js";
import { decodePayload, MAX_REQUEST_BYTES, SAFETY_ACTIONS, TransactionCache, validateAction, type Decoded, type Response } from "./requests.js";
import { CommandVerifier, type WallClock } from "./signing.js";
import { StatePublisher } from "./state-publisher.js";
import { BridgeTopics, isRequestAction, REQUEST_ACTIONS, SIGNED_ACTIONS, type RequestAction } from "./topics.js";

export type LogLevel = "info" | "warn" | "error";

export interface BridgeOptions {
  config: BridgeConfig;
  /** Drives rate limiting; the session controller has its own clock per device. */
  clock: Clock;
  /** Wall time for signature timestamps (defaults to Date.now). */
  wallClock?: WallClock;
  /** Builds the driver of one device; it connects in the background and reports its link state. */
  createDevice(d: ResolvedDevice): BridgeDevice;
  /** Program names offered in the Home Assistant select. */
  programNames: string[];
  version: string;
  log?: (level: LogLevel, msg: string) => void;
}

export interface Bridge {
  readonly bridgeId: string;
  readonly client: MqttClient;
  readonly availabilityTopic: string;
  served(): string[];
  device(id: string): BridgeDevice | undefined;
  /** Graceful shutdown: sessions stopped (slow return), links closed, offline published. */
  stop(): Promise<void>;
}

interface Served {
  cfg: ResolvedDevice;
  dev: BridgeDevice;
  state: StatePublisher;
  lastLink?: string;
  announced: boolean;
  unsubscribe: () => void;
}

const QOS1 = { qos: 1 as const };
/**
 * How long a bridge waits for other bridges' claims (retained, a round trip after it connects) before it
 * removes a dropped device's topics, or, in a group, before it publishes anything about its devices.
 */
const CLAIM_GRACE_MS = 2000;
/** Bounds the requests held during the claim grace (a flood must not grow memory without limit). */
const MAX_HELD_REQUESTS = 10_000;
/** How long an empty message echoing our own clearing of a retained request is expected. */
const CLEAR_ECHO_MS = 10_000;
const RETAINED = { qos: 1 as const, retain: true };
/**
 * Telemetry-only state updates (angle, force, mode): the next one follows within 1/stateHz and the broker
 * keeps the last as retained whatever its QoS, so they skip the PUBACK. Phase, link and outcome changes
 * stay QoS 1.
 */
const RETAINED_Q0 = { qos: 0 as const, retain: true };

export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const { config, clock } = opts;
  const log = opts.log ?? ((level, msg) => process.stderr.write(`[${level}] ${msg}\n`));
  const wall = opts.wallClock ?? { now: () => Date.now() };
  // Nonces are remembered in memory only: a signed payload older than this process may have run before.
  const startedAt = wall.now();
  const t = new BridgeTopics(config.base);
  const self = config.bridgeId;
  const grouped = config.group !== undefined;
  // One process: the Zigbee2MQTT-style <base>/bridge/state. Several: one availability topic per process,
  // so one process dying greys out only the devices it served.
  const availTopic = grouped ? t.bridgeProcessState(self) : t.bridgeState();
  const run = randomBytes(6).toString("hex");
  const verifier = new CommandVerifier({ clock: wall, notBefore: startedAt });
  const txns = new TransactionCache(() => clock.now());
  const owners = new OwnerMap();
  const served = new Map<string, Served>();
  const ha = config.homeassistant;
  const haOpts = { prefix: ha.prefix, base: config.base, version: opts.version, bridgeAvailability: availTopic };
  let stopping = false;
  // In a group, a device's availability, state and discovery wait until other bridges' claims are in:
  // a newcomer that turns out not to own a device must not have overwritten its owner's retained topics.
  let settled = !grouped;
  /**
   * Requests for our devices received before our claims settled. An older bridge may also list the device
   * and its claim may not have reached us yet: running the request here would give the device two drivers.
   * They are handled again once settled (run, or forwarded to the owner).
   */
  const heldUntilSettled: Array<{ deviceId: string; action: string; payload: Uint8Array; via: { forwarded: boolean; retained: boolean; topic: string } }> = [];
  /** Request topics whose retained message we cleared: the broker echoes the empty clear back to us. */
  const clearing = new Set<string>();

  const client = await connectMqtt({
    ...config.mqtt,
    // A random suffix: two processes must never share a client id (the broker would kick one out).
    clientId: config.mqtt.clientId ?? `invert-bridge-${self.slice(0, 40)}-${run}`,
    will: { topic: availTopic, payload: OFFLINE, qos: 1, retain: true },
  });
  log("info", `bridge ${self} connected to ${redact(config.mqtt.url)}`);
  // A forwarded request is a command for a device: one in flight when the broker went away must not reach
  // the owner late, after the reconnect.
  forgetUnackedOnClose(client, (topic) => t.parseRequest(topic)?.forwarded === true);

  const publish = (topic: string, payload: string, o: { qos: 0 | 1; retain?: boolean }) => {
    // While disconnected, mqtt.js keeps QoS 1 publishes for the reconnect and drops QoS 0 ones (queueQoSZero
    // is off: publishAll republishes the current state on connect); errors never crash the bridge.
    // A QoS 0 publish gets no callback: mqtt.js would park one 'drain' listener per message while the
    // socket buffer is full.
    if (o.qos === 0) client.publish(topic, payload, o);
    else
      client.publish(topic, payload, o, (err) => {
        if (err && !stopping) log("warn", `publish ${topic}: ${err.message}`);
      });
  };

  const renderState = (s: Served) => {
    const st: DeviceState = s.dev.state();
    return JSON.stringify(st);
  };

  const announce = (s: Served) => {
    if (!ha.enabled) return;
    const info = s.dev.info();
    if (!info) return;
    for (const m of discoveryMessages({ id: s.cfg.id, name: s.cfg.name, model: info.model, fw: info.fw, axes: info.axes, programs: opts.programNames }, haOpts)) {
      publish(m.topic, m.payload, RETAINED);
    }
    s.announced = true;
  };

  const publishAvailability = (s: Served) => {
    const link = s.dev.state().link;
    s.lastLink = link;
    publish(t.availability(s.cfg.id), link === "online" ? ONLINE : OFFLINE, RETAINED);
  };

  const since = wall.now();
  const myInfo = (): BridgeInfo => ({ bridgeId: self, run, since, devices: [...served.keys()] });

  const publishDevice = (s: Served) => {
    publishAvailability(s);
    s.state.republish();
    s.announced = false;
    announce(s);
  };

  const publishAll = () => {
    // Our device list before "online": a peer seeing us online must never pair that with the list of
    // our previous run, which may still claim devices that have moved to it.
    publish(t.bridgeInfo(self), JSON.stringify(myInfo()), RETAINED);
    publish(availTopic, ONLINE, RETAINED);
    if (!settled) return;
    for (const s of served.values()) publishDevice(s);
  };

  const respond = (deviceId: string, action: string, r: Response) => {
    publish(t.response(deviceId, action), JSON.stringify(r), QOS1);
  };

  const removeDevices = (ids: string[]) => {
    for (const id of ids) {
      log("info", `device ${id} is no longer served: removing its retained topics`);
      if (ha.enabled) for (const m of discoveryRemovals(id, haOpts)) publish(m.topic, "", RETAINED);
      publish(t.state(id), "", RETAINED);
      publish(t.availability(id), "", RETAINED);
    }
  };

  const release = async (id: string, why: string) => {
    const s = served.get(id);
    if (!s) return;
    log("error", `releasing device ${id}: ${why}`);
    served.delete(id);
    s.unsubscribe();
    s.state.dispose();
    if (!grouped) client.unsubscribe(`${config.base}/${id}/request/+`);
    publish(t.bridgeInfo(self), JSON.stringify(myInfo()), RETAINED);
    await s.dev.close();
  };

  const checkConflicts = () => {
    for (const id of served.keys()) {
      const other = owners.ownerOf(id, self);
      // Two processes claim the device: the older claim keeps it (a running session is not taken over),
      // the newer one lets go, so exactly one drives it.
      if (other !== undefined && claimBefore(other, { since, bridgeId: self })) void release(id, `bridge ${other.bridgeId} already serves it`);
    }
  };

  async function execute(s: Served, action: RequestAction, body: Record<string, unknown>): Promise<Response> {
    if (SIGNED_ACTIONS.has(action)) {
      const v = verifier.verify(s.cfg.id, action, body, s.cfg.key);
      if (!v.ok) return { status: "error", reason: v.reason, code: v.code };
    }
    const dev = s.dev;
    let r;
    switch (action) {
      case "start": {
        const p = validateAction("start", body);
        if (!p.ok) return { status: "error", reason: p.reason };
        r = await dev.start({ program: p.value.program ?? dev.state().program ?? undefined, profile: p.value.profile });
        break;
      }
      case "discomfort": {
        const p = validateAction("discomfort", body);
        // A discomfort report is acted on even if its fields are wrong: the user must come back.
        r = dev.discomfort(p.ok ? p.value.kind : "other");
        if (!p.ok && r.ok) return { status: "ok", warning: p.reason };
        break;
      }
      case "select": {
        const p = validateAction("select", body);
        if (!p.ok) return { status: "error", reason: p.reason };
        r = dev.select(p.value.program);
        break;
      }
      case "pause":
        r = dev.pause();
        break;
      case "resume": {
        const p = validateAction("resume", body);
        if (!p.ok) return { status: "error", reason: p.reason };
        r = dev.resume();
        break;
      }
      case "stop":
        // Stop never fails on field validation: safety must not depend on a well-formed payload.
        r = dev.stop();
        break;
      case "return":
        r = await dev.returnUpright();
        break;
      case "clear": {
        const p = validateAction("clear", body);
        if (!p.ok) return { status: "error", reason: p.reason };
        r = await dev.clear(p.value.code);
        break;
      }
    }
    return r.ok ? { status: "ok", ...(r.data ?? {}) } : { status: "error", reason: r.reason };
  }

  /**
   * Empties a retained request topic. The broker echoes the empty message to us; for a non-safety action
   * that echo is dropped (an empty start or pause from anyone else at that moment is lost, which costs
   * nothing), for a safety one it is acted on like any bare stop (acting twice is harmless, swallowing a
   * genuine stop is not).
   */
  const clearRetained = (topic: string, safety: boolean) => {
    publish(topic, "", RETAINED);
    if (safety || clearing.has(topic)) return;
    clearing.add(topic);
    clock.setTimeout(() => clearing.delete(topic), CLEAR_ECHO_MS);
  };

  async function handleRequest(deviceId: string, action: string, payload: Uint8Array, via: { forwarded: boolean; retained: boolean; topic: string }): Promise<void> {
    const safety = isRequestAction(action) && SAFETY_ACTIONS.has(action);
    // Checked before anything reads the payload: decoding 100 MB blocks the event loop for seconds, longer
    // than the device watchdog. A safety request still acts (it needs no payload).
    const oversize = payload.length > MAX_REQUEST_BYTES;
    const tooLarge = `payload: ${payload.length} bytes, over the limit of ${MAX_REQUEST_BYTES}`;
    const decode = (): Decoded => (oversize ? { ok: false, reason: tooLarge } : decodePayload(payload));
    let retainedNote: string | undefined;
    if (via.retained) {
      // The broker hands a retained message to every new subscription: on each bridge start and after each
      // reconnect, long after it was sent (and, signed, possibly inside the replay window of a new process
      // that has forgotten its nonce). It is never run as a motion request; stop, discomfort and return
      // still act, since they only bring the user back. Either way it is cleared, so it acts at most once.
      clearRetained(via.topic, safety);
      retainedNote = `retained: requests must not be published with the retain flag (the retained message was cleared)`;
      if (!safety) {
        const d = decode();
        log("warn", `refused retained ${action} for ${deviceId}: cleared it`);
        respond(deviceId, action, { transaction: d.transaction, status: "error", code: "retained", reason: `${retainedNote}; "${action}" is not run from a retained message` });
        return;
      }
    }
    const s = served.get(deviceId);
    if (s && !settled && safety) {
      // A stop after a held start must not be followed by the start two seconds later.
      for (let i = heldUntilSettled.length - 1; i >= 0; i--) {
        const h = heldUntilSettled[i];
        if (h.deviceId !== deviceId) continue;
        heldUntilSettled.splice(i, 1);
        respond(deviceId, h.action, { transaction: decodePayload(h.payload).transaction, status: "error", reason: `cancelled by ${action} before it ran` });
      }
    }
    if (s && !settled && !safety && !oversize) {
      // Safety requests act at once: stop, discomfort and return are safe whoever sends them.
      if (heldUntilSettled.length >= MAX_HELD_REQUESTS) {
        const d = decode();
        respond(deviceId, action, { transaction: d.transaction, status: "error", reason: "bridge starting: too many requests before its device claims settled; try again" });
        return;
      }
      heldUntilSettled.push({ deviceId, action, payload, via });
      return;
    }
    if (!s) {
      if (!via.forwarded) {
        const owner = owners.ownerOf(deviceId, self);
        if (owner !== undefined && !(oversize && !safety)) {
          if (!client.connected) {
            // mqtt.js would hold it and send it after the reconnect: a command delivered late.
            log("warn", `${action} for ${deviceId} not forwarded to ${owner.bridgeId}: broker connection lost`);
            return;
          }
          // An oversized safety request goes on as a bare one: the owner acts on it without reading it.
          publish(t.forward(owner.bridgeId, deviceId, action), oversize ? "" : Buffer.from(payload).toString("utf8"), QOS1);
          return;
        }
      }
      const d = decode();
      respond(deviceId, action, { transaction: d.transaction, status: "error", reason: oversize ? tooLarge : `unknown device "${deviceId}": no bridge serves it` });
      return;
    }
    const d = decode();
    if (!isRequestAction(action)) {
      respond(deviceId, action, { transaction: d.transaction, status: "error", reason: `unknown action "${action}" (expected one of ${REQUEST_ACTIONS.join(", ")})` });
      return;
    }
    const body = d.ok ? d.body : {};
    if (!d.ok && !safety) {
      respond(deviceId, action, { transaction: d.transaction, status: "error", reason: d.reason });
      return;
    }
    const tx = d.transaction;
    // Safety requests skip the transaction cache: they run every time (they are idempotent), so neither a
    // duplicate nor an earlier request that happened to use the same id can swallow one.
    const cached = tx !== undefined && !safety;
    if (cached) {
      const c = txns.claim(deviceId, action, tx);
      if (c === "pending") return;
      if (c !== "new") {
        respond(deviceId, action, c);
        return;
      }
    }
    let resp: Response;
    try {
      resp = await execute(s, action, body);
    } catch (e) {
      resp = { status: "error", reason: `internal: ${(e as Error).message}` };
      log("error", `${deviceId} ${action}: ${(e as Error).stack ?? (e as Error).message}`);
    }
    // A safety request acts even on an unreadable payload; the warning still tells the sender why.
    const warnings = [d.ok ? undefined : d.reason, typeof resp.warning === "string" ? resp.warning : undefined, retainedNote].filter((w) => w !== undefined);
    if (resp.status === "ok" && warnings.length) resp = { ...resp, warning: warnings.join("; ") };
    else if (resp.status === "error" && !d.ok) resp = { ...resp, reason: `${resp.reason ?? "failed"} (${d.reason})` };
    if (resp.status === "error") log("warn", `refused ${action} for ${deviceId}${tx !== undefined ? ` (transaction ${tx})` : ""}: ${resp.reason}`);
    else log("info", `${action} for ${deviceId}${tx !== undefined ? ` (transaction ${tx})` : ""}: ok`);
    const out: Response = tx !== undefined ? { transaction: tx, ...resp } : resp;
    if (cached) {
      // An unauthorised request must not occupy its transaction id: whoever guessed it could otherwise
      // block the genuine request that follows with the same id.
      if (resp.code !== undefined) txns.forget(deviceId, action, tx);
      else txns.complete(deviceId, action, tx, out);
    }
    respond(deviceId, action, out);
  }

  client.on("message", (topic, payload, packet) => {
    if (stopping) return;
    const req = t.parseRequest(topic);
    if (req) {
      // The echo of our own clearing of a retained request (only tracked for non-safety actions, so a
      // genuine bare stop is never swallowed).
      if (payload.length === 0 && !packet.retain && clearing.delete(topic)) return;
      void handleRequest(req.deviceId, req.action, payload, { forwarded: req.forwarded, retained: packet.retain, topic });
      return;
    }
    const m = /^(.*)\/bridge\/([^/]+)\/(info|state)$/.exec(topic);
    if (m && m[1] === config.base) {
      const text = payload.toString("utf8");
      if (m[3] === "info") {
        const info = parseBridgeInfo(text);
        if (m[2] === self && info && info.run !== run) {
          // Our previous run's list: devices dropped from the config go away, unless another bridge
          // serves them now. Its claim is a retained message that may arrive just after ours, so the
          // check waits a moment.
          publish(t.bridgeInfo(self), JSON.stringify(myInfo()), RETAINED);
          const dropped = info.devices.filter((id) => !served.has(id));
          if (dropped.length) {
            clock.setTimeout(() => {
              if (!stopping) removeDevices(dropped.filter((id) => !served.has(id) && owners.ownerOf(id, self) === undefined));
            }, CLAIM_GRACE_MS);
          }
          return;
        }
        if (m[2] !== self) {
          const before = new Set(owners.infoOf(m[2])?.devices ?? []);
          const after = new Set(info?.devices ?? []);
          owners.setInfo(info, m[2]);
          checkConflicts();
          // A peer claiming one of our devices may have written its retained topics before it saw our
          // older claim (a peer whose grace ran out first, or an older version): put ours back when the
          // claim appears and again when it is dropped, which the peer publishes after those writes.
          if (settled) {
            for (const id of [...before, ...after]) {
              const s = served.get(id);
              if (s && before.has(id) !== after.has(id)) publishDevice(s);
            }
          }
          return;
        }
      } else if (m[2] !== self) {
        owners.setOnline(m[2], text.includes('"online"'));
      }
      checkConflicts();
    }
  });

  const subscribe = () => {
    const topics: string[] = [];
    if (grouped) {
      // The info wildcard includes our own info topic (our previous run's list).
      topics.push(t.requestWildcard(config.group), t.forwardWildcard(self), t.bridgeInfoWildcard(), `${config.base}/bridge/+/state`);
    } else {
      topics.push(t.bridgeInfo(self));
      for (const id of served.keys()) topics.push(`${config.base}/${id}/request/+`);
    }
    client.subscribe(topics, QOS1, (err) => {
      if (err && !stopping) log("error", `subscribe: ${err.message}`);
    });
  };

  for (const d of config.devices) {
    const dev = opts.createDevice(d);
    const s: Served = {
      cfg: d,
      dev,
      announced: false,
      state: new StatePublisher(clock, config.stateHz, () => renderState(s), (p, urgent) => publish(t.state(d.id), p, urgent ? RETAINED : RETAINED_Q0)),
      unsubscribe: () => undefined,
    };
    s.unsubscribe = dev.onChange((urgent) => {
      if (stopping || !settled) return;
      if (dev.state().link !== s.lastLink) publishAvailability(s);
      if (!s.announced) announce(s);
      s.state.update(urgent);
    });
    served.set(d.id, s);
  }

  // Broker restarts lose retained messages when it has no persistence: republish on every (re)connect.
  client.on("connect", () => {
    if (stopping) return;
    log("info", "mqtt (re)connected: republishing availability, state and discovery");
    publishAll();
  });
  client.on("offline", () => {
    if (!stopping) log("warn", "mqtt connection lost; reconnecting (devices keep their sessions)");
  });
  subscribe();
  publishAll();
  if (!settled) {
    clock.setTimeout(() => {
      if (stopping) return;
      // Devices claimed by an older live bridge have been released by now (checkConflicts).
      settled = true;
      for (const s of served.values()) publishDevice(s);
      for (const h of heldUntilSettled.splice(0)) void handleRequest(h.deviceId, h.action, h.payload, h.via);
    }, CLAIM_GRACE_MS);
  }

  return {
    bridgeId: self,
    client,
    availabilityTopic: availTopic,
    served: () => [...served.keys()],
    device: (id) => served.get(id)?.dev,
    async stop() {
      if (stopping) return;
      stopping = true;
      for (const h of heldUntilSettled.splice(0)) {
        respond(h.deviceId, h.action, { transaction: decodePayload(h.payload).transaction, status: "error", reason: "bridge stopping: the request was not run" });
      }
      await Promise.all([...served.values()].map(async (s) => {
        s.unsubscribe();
        s.state.dispose();
        await s.dev.close().catch((e: unknown) => log("error", `closing ${s.cfg.id}: ${(e as Error).message}`));
        // Stopped before our claims settled: a device another live bridge claims is not ours to mark.
        if (!settled && owners.ownerOf(s.cfg.id, self) !== undefined) return;
        client.publish(t.availability(s.cfg.id), OFFLINE, RETAINED);
        client.publish(t.state(s.cfg.id), renderState(s), RETAINED);
      }));
      await new Promise<void>((resolve) => client.publish(availTopic, OFFLINE, RETAINED, () => resolve()));
      await client.endAsync();
    },
  };
}
