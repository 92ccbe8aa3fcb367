// Redraws a block of lines in place at the bottom of a terminal, and prints ordinary lines above it.
// Cursor math relies on no line wrapping: callers cut lines to the width (format.fit).

const ESC = "\u001b[";

export class LiveScreen {
  private shown = 0;
  private cursorHidden = false;

  constructor(private readonly write: (s: string) => void) {}

  private eraseSeq(): string {
    // Up to the first line of the block, then clear everything below.
    return this.shown > 0 ? `${ESC}${this.shown}A\r${ESC}J` : "";
  }

  /** Replaces the live block with `lines`. */
  draw(lines: readonly string[]): void {
    const hide = this.cursorHidden ? "" : `${ESC}?25l`;
    this.cursorHidden = true;
    this.write(`${hide}${this.eraseSeq()}${lines.map((l) => `${l}\n`).join("")}`);
    this.shown = lines.length;
  }

  /** Prints text above the live block (which the next draw puts back underneath). */
  print(text: string, redraw: readonly string[] = []): void {
    const t = text.endsWith("\n") || text === "" ? text : `${text}\n`;
    this.write(`${this.eraseSeq()}${t}`);
    this.shown = 0;
    if (redraw.length) this.draw(redraw);
  }

  /** Removes the live block and gives the cursor back. */
  close(): void {
    this.write(`${this.eraseSeq()}${this.cursorHidden ? `${ESC}?25h` : ""}`);
    this.shown = 0;
    this.cursorHidden = false;
  }
}
