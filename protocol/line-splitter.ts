// Splits a byte stream into lines with a hard bound: a line longer than MAX_LINE_BYTES is discarded up
// to the next '\n' without buffering it, so no input can grow memory (ReadlineParser has no such bound).
import { MAX_LINE_BYTES } from "./constants.js";

export class LineSplitter {
  private readonly buf: Buffer;
  private len = 0;
  private discarding = false;
  /** Lines dropped for exceeding the bound. */
  overlong = 0;

  constructor(
    private readonly onLine: (line: Buffer) => void,
    private readonly onOverlong: () => void = () => {},
    private readonly maxLine = MAX_LINE_BYTES,
  ) {
    // The terminator counts towards the bound, so the content holds at most maxLine - 1 bytes.
    this.buf = Buffer.allocUnsafe(maxLine - 1);
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const stop = nl === -1 ? chunk.length : nl;
      if (!this.discarding) {
        const n = stop - start;
        if (this.len + n > this.buf.length) {
          this.discarding = true;
          this.len = 0;
        } else {
          this.buf.set(chunk.subarray(start, stop), this.len);
          this.len += n;
        }
      }
      if (nl === -1) break;
      if (this.discarding) {
        this.discarding = false;
        this.overlong++;
        this.onOverlong();
      } else {
        // Copy: the internal buffer is reused for the next line.
        const line = Buffer.from(this.buf.subarray(0, this.len));
        this.len = 0;
        if (line.length > 0) this.onLine(line);
      }
      start = nl + 1;
    }
  }

  /** Bytes held for an incomplete line (never more than the bound). */
  get pending(): number {
    return this.len;
  }

  reset(): void {
    this.len = 0;
    this.discarding = false;
  }
}
