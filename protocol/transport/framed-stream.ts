// Serial framing over any byte port: CRC frames out, validated messages in.
import { encodeFrame } from "../codec.js";
import { FrameReader } from "../frame-reader.js";
import type { AnyMsg } from "../messages.js";
import { ACCEPTS, type BytePort, type MessageTransport, type Role, type TransportHandlers, type TransportStats } from "./types.js";

export class FramedStreamTransport implements MessageTransport {
  private handlers: TransportHandlers = { onMessage: () => {} };
  private readonly reader: FrameReader;
  private closed = false;
  private txFrames = 0;

  constructor(
    private readonly port: BytePort,
    role: Role,
  ) {
    this.reader = new FrameReader(
      (m) => this.handlers.onMessage(m),
      (r, d) => this.handlers.onDrop?.(r, d),
      ACCEPTS[role],
    );
    port.onData((chunk) => this.reader.push(chunk));
    port.onClose((err) => {
      this.closed = true;
      this.handlers.onClose?.(err);
    });
  }

  setHandlers(h: TransportHandlers): void {
    this.handlers = h;
  }

  send(msg: AnyMsg): void {
    if (this.closed) return;
    this.txFrames++;
    this.port.write(Buffer.from(encodeFrame(msg), "utf8"));
  }

  get stats(): TransportStats {
    return { rxFrames: this.reader.frames, txFrames: this.txFrames, drops: { ...this.reader.drops } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.port.close();
  }
}
