// Bytes in, validated messages out, with drop counters that both sides report.
import { LineSplitter } from "./line-splitter.js";
import { decodeFrame, DROP_REASONS, type Accept, type DropReason } from "./codec.js";
import type { AnyMsg } from "./messages.js";

export type DropCounters = Record<DropReason, number>;

export function emptyDropCounters(): DropCounters {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as DropCounters;
}

export class FrameReader {
  readonly drops: DropCounters = emptyDropCounters();
  frames = 0;
  private readonly splitter: LineSplitter;

  constructor(
    private readonly onMessage: (msg: AnyMsg) => void,
    private readonly onDrop: (reason: DropReason, detail: string) => void = () => {},
    private readonly accept?: Accept,
  ) {
    this.splitter = new LineSplitter(
      (line) => this.line(line),
      () => this.drop("overlong", "line longer than 512 bytes"),
    );
  }

  push(chunk: Uint8Array): void {
    this.splitter.push(chunk);
  }

  get dropped(): number {
    let n = 0;
    for (const r of DROP_REASONS) n += this.drops[r];
    return n;
  }

  get pendingBytes(): number {
    return this.splitter.pending;
  }

  private line(line: Buffer): void {
    const r = decodeFrame(line, this.accept);
    if (r.ok) {
      this.frames++;
      this.onMessage(r.msg);
    } else this.drop(r.reason, r.detail);
  }

  private drop(reason: DropReason, detail: string): void {
    this.drops[reason]++;
    this.onDrop(reason, detail);
  }
}
