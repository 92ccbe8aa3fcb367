// serialport's native binding, with one change: on Linux and macOS a read that returns zero bytes
// reports the device as gone. The binding's own Unix read retries a zero-byte read at once, forever
// (serialport/bindings-cpp issue 162). The port is opened non-blocking with VMIN 1, so "no data yet" is
// EAGAIN; zero bytes is end of file, which a tty returns once it has hung up: a USB-UART unplugged, a
// pseudo-terminal's other end closed. The retry then spins the thread pool at full CPU and never tells
// the link that its device vanished.
import { read } from "node:fs";
import { promisify } from "node:util";
import { autoDetect, BindingsError, DarwinPortBinding, LinuxPortBinding, type BindingInterface, type DarwinOpenOptions, type LinuxOpenOptions, type WindowsOpenOptions } from "@serialport/bindings-cpp";

const readAsync = promisify(read);
const RETRY_CODES = new Set(["EAGAIN", "EWOULDBLOCK", "EINTR"]);

const detected = autoDetect();

/** The platform's binding; on Unix its reads end the port at end of file instead of spinning. */
export const SerialBinding = {
  list: () => detected.list(),
  // Options every platform's binding accepts, as a plain path and baud rate are.
  async open(options: LinuxOpenOptions & DarwinOpenOptions & WindowsOpenOptions) {
    const port = await detected.open(options);
    // The binding constructs its port objects itself, so the read is replaced on the instance.
    if (port instanceof LinuxPortBinding || port instanceof DarwinPortBinding) {
      port.read = (buffer, offset, length) => readUntilHangup(port, buffer, offset, length);
    }
    return port;
  },
} satisfies BindingInterface;

// Canceled errors are the stream's sign of a deliberate close: it does not report them as a loss.
const notOpen = (): Error => new BindingsError("Port is not open", { canceled: true });

/** The binding's Unix read, except that end of file rejects: the stream then closes with that error. */
async function readUntilHangup(port: LinuxPortBinding | DarwinPortBinding, buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw notOpen();
    let bytesRead: number;
    try {
      ({ bytesRead } = await readAsync(port.fd, buffer, offset, length, null));
    } catch (err) {
      if (!RETRY_CODES.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
      // The port may have closed while the read was out; its poller is destroyed then.
      if (!port.isOpen) throw notOpen();
      await new Promise<void>((resolve, reject) => port.poller.once("readable", (e) => (e ? reject(e) : resolve())));
      continue;
    }
    if (bytesRead === 0) throw new Error("end of file: the device hung up");
    return { buffer, bytesRead };
  }
}
