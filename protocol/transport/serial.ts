// A BytePort over a real serial device (USB-UART, or a pseudo-terminal in tests), using serialport.
// Framing is not done here: FramedStreamTransport's LineSplitter bounds every line, which serialport's
// ReadlineParser does not.
import { SerialPort } from "serialport";
import type { Role } from "./types.js";
import type { BytePort } from "./types.js";
import { FramedStreamTransport } from "./framed-stream.js";

export interface SerialOptions {
  /** Line rate; the reference firmware uses 115200. Ignored by pseudo-terminals. */
  baud?: number;
  /**
   * Bytes allowed to queue behind a stalled port before further writes are dropped. Old commands
   * queued behind a stall are worse than lost ones: the link layer retries with fresh state.
   */
  maxQueuedBytes?: number;
}

export const DEFAULT_BAUD = 115200;

export interface SerialBytePort extends BytePort {
  readonly path: string;
  /** Writes dropped because the port was closed or its queue was full. */
  readonly droppedWrites: number;
}

/** A serial failure with an errno-style `code` (the native binding gives only a message). */
export class SerialError extends Error {
  override name = "SerialError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const ERRNO_BY_TEXT: [RegExp, string][] = [
  [/no such file or directory/i, "ENOENT"],
  [/permission denied/i, "EACCES"],
  [/resource busy|cannot lock port/i, "EBUSY"],
  [/inappropriate ioctl/i, "ENOTTY"],
  [/input\/output error/i, "EIO"],
];

function serialError(path: string, what: string, err: Error): SerialError {
  const code = (err as { code?: unknown }).code;
  const errno = typeof code === "string" ? code : (ERRNO_BY_TEXT.find(([re]) => re.test(err.message))?.[1] ?? "EIO");
  // The binding's text repeats the path ("..., cannot open /dev/x"); the prefix already names it.
  const text = err.message.replace(/^Error: /, "").replace(/, cannot open .*$/, "");
  return new SerialError(`serial ${path}: ${what}${text}`, errno);
}

/** Opens `path`; rejects with one clear line naming the path (and an errno `code`) when it cannot be opened. */
export function openSerialPort(path: string, opts: SerialOptions = {}): Promise<SerialBytePort> {
  const baudRate = opts.baud ?? DEFAULT_BAUD;
  if (!Number.isInteger(baudRate) || baudRate <= 0) {
    return Promise.reject(new SerialError(`serial ${path}: baud must be a positive integer, got ${opts.baud}`, "EINVAL"));
  }
  const maxQueued = opts.maxQueuedBytes ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const sp = new SerialPort({ path, baudRate, autoOpen: false });
    sp.open((err) => {
      if (err) {
        reject(serialError(path, "cannot open: ", err));
        return;
      }
      resolve(wrap(sp, path, maxQueued));
    });
  });
}

function wrap(sp: SerialPort, path: string, maxQueued: number): SerialBytePort {
  let dataCb: (chunk: Uint8Array) => void = () => {};
  const closeCbs: ((e?: Error) => void)[] = [];
  let closed = false;
  let deliberate = false;
  let lastError: Error | undefined;
  let droppedWrites = 0;

  const finish = (err?: Error): void => {
    if (closed) return;
    closed = true;
    for (const cb of closeCbs) cb(deliberate ? undefined : (err ?? new Error(`serial ${path}: port closed`)));
  };
  sp.on("data", (chunk: Buffer) => dataCb(chunk));
  sp.on("error", (err: Error) => {
    // An error on an open port (unplugged cable, EIO) is fatal for the link: report it once, via close.
    lastError = serialError(path, "", err);
    if (sp.isOpen) sp.close(() => finish(lastError));
    else finish(lastError);
  });
  sp.on("close", (err?: Error | null) => finish(err ? serialError(path, "", err) : lastError));

  return {
    path,
    get droppedWrites() {
      return droppedWrites;
    },
    write(data: Uint8Array): void {
      if (closed || !sp.isOpen || sp.writableLength + data.length > maxQueued) {
        droppedWrites++;
        return;
      }
      // Errors surface through the 'error' event above; the callback only keeps them from being unhandled.
      sp.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength), () => {});
    },
    onData(cb) {
      dataCb = cb;
    },
    onClose(cb) {
      closeCbs.push(cb);
    },
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      deliberate = true;
      return new Promise((resolve) => {
        if (!sp.isOpen) {
          finish();
          resolve();
          return;
        }
        sp.close(() => {
          finish();
          resolve();
        });
      });
    },
  };
}

/** A message transport over a serial device: CRC frames, bounded lines, drop counters. */
export async function openSerialTransport(path: string, role: Role, opts: SerialOptions = {}): Promise<FramedStreamTransport> {
  return new FramedStreamTransport(await openSerialPort(path, opts), role);
}
