// How the serial wrapper hands writes to serialport, on serialport's own mock binding (no tty): frames
// written while a received chunk is handled leave as one port write once the handler returns.
import { SerialPortMock } from "serialport";
import { afterEach, describe, expect, it } from "vitest";
import { wrapSerialStream, type SerialBytePort } from "../../protocol/transport/serial.js";

const PATH = "/dev/INVERT-MOCK";
// The mock binding serialport itself loads (importing @serialport/binding-mock here could give another copy).
const MockBinding = SerialPortMock.binding;
type MockPortBinding = NonNullable<SerialPortMock["port"]>;

async function openMock(): Promise<{ port: SerialBytePort; binding: MockPortBinding; writes: string[] }> {
  MockBinding.createPort(PATH, { echo: false, record: false });
  const sp = new SerialPortMock({ path: PATH, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => sp.open((e) => (e ? reject(e) : resolve())));
  const binding = sp.port!;
  // Every buffer serialport hands to the binding, i.e. every port write.
  const writes: string[] = [];
  const write = binding.write.bind(binding);
  binding.write = (b: Buffer) => {
    writes.push(b.toString("latin1"));
    return write(b);
  };
  return { port: wrapSerialStream(sp, PATH), binding, writes };
}

/** Resolves after `port`'s data handler has run once. */
function onceData(port: SerialBytePort, handler: () => void): Promise<void> {
  return new Promise((resolve) =>
    port.onData(() => {
      handler();
      resolve();
    }),
  );
}

describe("serial wrapper writes", () => {
  const ports: SerialBytePort[] = [];
  afterEach(async () => {
    for (const p of ports.splice(0)) await p.close();
    MockBinding.reset();
  });

  it("sends the frames written while handling one received chunk as one port write, in order, after the handler", async () => {
    const { port, binding, writes } = await openMock();
    ports.push(port);
    let seenInHandler = -1;
    const handled = onceData(port, () => {
      port.write(Buffer.from("ack-old\n"));
      port.write(Buffer.from("ack-new\n"));
      seenInHandler = writes.length;
    });
    binding.emitData(Buffer.from("move\n"));
    await handled;
    expect(seenInHandler).toBe(0);
    expect(writes).toEqual(["ack-old\nack-new\n"]);
  });

  it("sends a write made outside a data handler to the port at once", async () => {
    const { port, writes } = await openMock();
    ports.push(port);
    port.write(Buffer.from("hb\n"));
    expect(writes).toEqual(["hb\n"]);
  });

  it("sends what the handler wrote before a close it asked for", async () => {
    const { port, binding, writes } = await openMock();
    const handled = onceData(port, () => {
      port.write(Buffer.from("evt\n"));
      void port.close();
    });
    binding.emitData(Buffer.from("x\n"));
    await handled;
    expect(writes).toEqual(["evt\n"]);
    expect(port.droppedWrites).toBe(0);
  });
});
