// Keys during a session (stdin in raw mode): space pauses and resumes, `s` stops and returns slowly,
// `p` (or `d` for dizziness) reports discomfort, Ctrl-C (byte 0x03 in raw mode, where the terminal
// sends no SIGINT) stops and returns slowly like the signal does.

export type KeyCommand = "toggle-pause" | "stop" | "discomfort-pain" | "discomfort-dizziness" | "interrupt";

/** What one key (one character of a raw-mode chunk) asks for; undefined: ignored. */
export function keyCommand(ch: string): KeyCommand | undefined {
  switch (ch) {
    case " ":
      return "toggle-pause";
    case "s":
    case "S":
      return "stop";
    case "p":
    case "P":
      return "discomfort-pain";
    case "d":
    case "D":
      return "discomfort-dizziness";
    case "\u0003":
      return "interrupt";
    default:
      return undefined;
  }
}

/** Commands in a raw-mode chunk, in order. Escape sequences (arrow keys) are skipped whole. */
export function keyCommands(chunk: string): KeyCommand[] {
  const out: KeyCommand[] = [];
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] === "\u001b") {
      // CSI/SS3 sequences: ESC [ ... final byte, or ESC O x. Nothing in them is a command.
      if (chunk[i + 1] === "[" || chunk[i + 1] === "O") {
        i += 2;
        while (i < chunk.length && !/[@-~]/.test(chunk[i])) i++;
      }
      continue;
    }
    const c = keyCommand(chunk[i]);
    if (c) out.push(c);
  }
  return out;
}

export interface KeyInput {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  on(event: "data", cb: (chunk: Buffer | string) => void): unknown;
  off(event: "data", cb: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** Puts a terminal stdin in raw mode and delivers key commands; returns the restore function. */
export function listenKeys(input: KeyInput, onCommand: (c: KeyCommand) => void): () => void {
  const raw = typeof input.setRawMode === "function";
  if (raw) input.setRawMode?.(true);
  const onData = (chunk: Buffer | string): void => {
    for (const c of keyCommands(typeof chunk === "string" ? chunk : chunk.toString("utf8"))) onCommand(c);
  };
  input.on("data", onData);
  input.resume();
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    input.off("data", onData);
    if (raw) input.setRawMode?.(false);
    // Paused, stdin no longer keeps the process alive once the session is over.
    input.pause();
  };
}
