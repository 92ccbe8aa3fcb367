// The acceptance scenario, shared by the serial and MQTT runs: a plain protocol client gets caps
// after hello, sees telemetry at the advertised rate, a move executed at no more than the commanded
// speed, an out-of-limit move and a corrupted frame refused, and, when it goes silent, the device
// returning to upright on its own with the slow profile.
import { expect } from "vitest";
import { waitFor } from "../../test/helpers/wait.js";
import { FAST_CONFIG, type PlainClient } from "./real-io.js";

const T = FAST_CONFIG.tilt;

export async function handshake(c: PlainClient): Promise<void> {
  const before = c.caps.length;
  c.send({ type: "hello", client: "plain-test", proto: [1] });
  await waitFor(() => c.caps.length > before, 10_000, "caps after hello");
  const caps = c.caps.at(-1)!;
  expect(caps.proto).toBe(1);
  expect(caps.tlmHz).toBe(FAST_CONFIG.tlmHz);
  expect(caps.watchdogMs).toBe(FAST_CONFIG.watchdogMs);
  expect(caps.axes.tilt).toMatchObject({ min: T.min, max: T.max, upright: T.upright, speedMax: T.speedMax });
  expect(caps.boot).toMatch(/^b1-/);
  c.heartbeat(100);
}

export async function telemetryRate(c: PlainClient): Promise<void> {
  const n0 = c.tlm.length;
  await waitFor(() => c.tlm.length >= n0 + 30, 10_000, "30 telemetry samples");
  const s = c.tlm.slice(n0, n0 + 30);
  const period = 1000 / FAST_CONFIG.tlmHz;
  // Device time stamps: exactly the advertised period; arrival: the same rate on average.
  const dt = s.slice(1).map((x, i) => x.msg.t - s[i].msg.t);
  const mean = dt.reduce((a, b) => a + b, 0) / dt.length;
  expect(mean).toBeGreaterThan(period * 0.9);
  expect(mean).toBeLessThan(period * 1.1);
  const wall = (s.at(-1)!.at - s[0].at) / (s.length - 1);
  expect(wall).toBeGreaterThan(period * 0.5);
  expect(wall).toBeLessThan(period * 1.5);
}

export async function moveWithinLimits(c: PlainClient): Promise<void> {
  const speed = 15;
  const n0 = c.tlm.length;
  c.send({ type: "move", id: "m-ok", axis: "tilt", target: 5, speed });
  await waitFor(() => !!c.ack("m-ok", "accepted"), 5000, "accepted");
  await waitFor(() => !!c.ack("m-ok", "done"), 20_000, "done");
  const during = c.tlm.slice(n0).map((x) => x.msg);
  const vmax = Math.max(...during.map((m) => Math.abs(m.vel)));
  expect(vmax).toBeLessThanOrEqual(speed + 0.001);
  expect(vmax).toBeGreaterThan(speed * 0.9);
  await waitFor(() => c.tlm.length > n0 + during.length + 2, 2000, "telemetry after done");
  expect(Math.abs(c.lastTlm()!.tilt - 5)).toBeLessThanOrEqual(0.2);
  expect(c.lastTlm()!.mode).toBe("holding");
}

export async function outOfLimitRefused(c: PlainClient): Promise<void> {
  c.send({ type: "move", id: "m-far", axis: "tilt", target: 45, speed: 5 });
  await waitFor(() => !!c.ack("m-far", "rejected"), 5000, "rejected");
  expect(c.ack("m-far", "rejected")!.reason).toMatch(/target 45 outside hard limits \[-30, 30\]/);
  c.send({ type: "move", id: "m-fast", axis: "tilt", target: 0, speed: 40 });
  await waitFor(() => !!c.ack("m-fast", "rejected"), 5000, "rejected");
}

/** `inject` puts one corrupted command on the wire; it must be dropped, counted in rxErr, never acked. */
export async function corruptRefused(c: PlainClient, inject: () => void): Promise<void> {
  await waitFor(() => c.tlm.length > 0, 5000, "telemetry");
  const before = c.lastTlm()!.rxErr;
  inject();
  await waitFor(() => c.lastTlm()!.rxErr === before + 1, 5000, "rxErr to count the bad frame");
  expect(c.acks.some((a) => a.id === "bad")).toBe(false);
  expect(Math.abs(c.lastTlm()!.tilt - 5)).toBeLessThanOrEqual(0.2);
}

export async function silentReturn(c: PlainClient): Promise<void> {
  c.stopHeartbeat();
  const n0 = c.tlm.length;
  await waitFor(() => !!c.event("WATCHDOG"), 5000, "WATCHDOG event");
  expect(c.event("WATCHDOG")!.severity).toBe("fault");
  await waitFor(() => !!c.event("RETURN_STARTED"), 5000, "RETURN_STARTED");
  await waitFor(() => !!c.event("RETURN_DONE"), 60_000, "RETURN_DONE");
  await waitFor(() => c.tlm.length > n0 + 2 && c.lastTlm()!.mode === "idle", 3000, "idle telemetry");
  const ret = c.tlm.slice(n0).map((x) => x.msg).filter((m) => m.mode === "returning");
  const phases: string[] = [];
  for (const m of ret) if (m.ret && phases.at(-1) !== m.ret) phases.push(m.ret);
  expect(phases).toEqual(["descend", "rest", "rise", "pause", "rise", "approach"]);
  for (const m of ret) expect(Math.abs(m.vel)).toBeLessThanOrEqual(T.returnSpeed + 0.001);
  // The final approach: the last approachZone degrees at no more than approachSpeed.
  const zone = ret.filter((m) => m.tilt < T.upright + T.approachZone - 0.1);
  expect(zone.length).toBeGreaterThan(10);
  for (const m of zone) expect(Math.abs(m.vel)).toBeLessThanOrEqual(T.approachSpeed + 0.001);
  const last = c.lastTlm()!;
  expect(Math.abs(last.tilt - T.upright)).toBeLessThanOrEqual(0.2);
  expect(last.vel).toBe(0);
  expect(last.faults).toContain("WATCHDOG");
}
