// A transport that records what is sent and lets a test deliver messages through its handlers, for
// wrappers such as FaultyTransport.
import { emptyDropCounters, type AnyMsg, type MessageTransport, type TransportHandlers } from "../../protocol/index.js";

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
