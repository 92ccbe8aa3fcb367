// A transport that records what is sent and lets a test deliver messages through its handlers, for
// wrappers such as FaultyTransport.
import { VirtualClock, emptyDropCounters, type AnyMsg, type MessageTransport, type Rng, type TransportHandlers } from "../../protocol/index.js";
import { FaultyTransport } from "../index.js";

export class Loopback implements MessageTransport {
  h: TransportHandlers = { onMessage: () => {} };
  sent: AnyMsg[] = [];
  stats = { rxFrames: 0, txFrames: 0, drops: emptyDropCounters() };
  setHandlers(h: TransportHandlers): void {
    this.h = h;
  }
  send(m: AnyMsg): void {
    this.sent.push(m);
  }
  async close(): Promise<void> {}
}

/** A FaultyTransport wrapped around a Loopback, in virtual time: the set-up of every link-fault test. */
export function faultyOverLoopback(rng: Rng): { clock: VirtualClock; inner: Loopback; t: FaultyTransport } {
  const clock = new VirtualClock();
  const inner = new Loopback();
  return { clock, inner, t: new FaultyTransport(inner, clock, rng) };
}
