// A BytePort over a real serial device (USB-UART, or a pseudo-terminal in tests), using serialport.
// Framing is not done here: FramedStreamTransport's LineSplitter bounds every line, which serialport's
// ReadlineParser does not.
import { SerialPortStream } from "@serialport/stream";
import type { SerialPortMock } from "serialport";
import { SerialBinding } from "./serial-binding.js";
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
const DEFAULT_MAX_QUEUED = 64 * 1024;

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
  [/no such device or address/i, "ENXIO"],
  [/no such device/i, "ENODEV"],
  [/is a directory/i, "EISDIR"],
  [/not a directory/i, "ENOTDIR"],
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
  const maxQueued = opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED;
  return new Promise((resolve, reject) => {
    const sp = new SerialPortStream({ binding: SerialBinding, path, baudRate, autoOpen: false });
    sp.open((err) => {
      if (err) {
        reject(serialError(path, "cannot open: ", err));
        return;
      }
      resolve(wrapSerialStream(sp, path, maxQueued));
    });
  });
}

/** A BytePort over an open serialport stream (the mock binding's in unit tests). */
export function wrapSerialStream(sp: SerialPortStream<typeof SerialBinding> | SerialPortMock, path: string, maxQueued = DEFAULT_MAX_QUEUED): SerialBytePort {
  let dataCb: (chunk: Uint8Array) => void = () => {};
  const closeCbs: ((e?: Error) => void)[] = [];
  let closed = false;
  let deliberate = false;
  let lastError: Error | undefined;
  let droppedWrites = 0;
  // Frames written while a received chunk is being handled (a device acking the command it supersedes
  // and then the new one, or an ack and an event) leave as one port write when the handler returns.
  // serialport keeps one write in flight and starts the next only once the first one's completion is
  // back on this thread, so a second frame would otherwise wait a whole write round trip, where a UART
  // sends the two back to back. Writes from anywhere else go to the port at once, as before.
  let delivering = false;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  const flush = (): void => {
    if (batch.length === 0) return;
    const out = batch.length === 1 ? batch[0] : Buffer.concat(batch, batchBytes);
    const frames = batch.length;
    batch = [];
    batchBytes = 0;
    if (closed || !sp.isOpen) {
      droppedWrites += frames;
      return;
    }
    // Errors surface through the 'error' event below; the callback only keeps them from being unhandled.
    sp.write(out, () => {});
  };

  const finish = (err?: Error): void => {
    if (closed) return;
    closed = true;
    for (const cb of closeCbs) cb(deliberate ? undefined : (err ?? new Error(`serial ${path}: port closed`)));
  };
  sp.on("data", (chunk: Buffer) => {
    delivering = true;
    try {
      dataCb(chunk);
    } finally {
      delivering = false;
      flush();
    }
  });
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
      if (closed || !sp.isOpen || sp.writableLength + batchBytes + data.length > maxQueued) {
        droppedWrites++;
        return;
      }
      const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      if (delivering) {
        batch.push(buf);
        batchBytes += buf.length;
        return;
      }
      sp.write(buf, () => {});
    },
    onData(cb) {
      dataCb = cb;
    },
    onClose(cb) {
      closeCbs.push(cb);
    },
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      // What was written before the close goes out before it, as when every write went straight to the port.
      flush();
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
