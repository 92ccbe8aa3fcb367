// The serial transport over real pseudo-terminals (socat): the kernel tty layer and the serialport
// native binding sit on the path, as with a USB-UART cable.
import { afterEach, expect, it } from "vitest";
import { openSerialPort, openSerialTransport, type SerialBytePort } from "../../protocol/transport/serial.js";
import { encodeFrame, Sequencer, type AnyMsg, type MessageTransport } from "../../protocol/index.js";
import { describeIfTool } from "../helpers/real-io.js";
import { openPtyPair, type PtyPair } from "../helpers/socat.js";
import { waitFor } from "../helpers/wait.js";

describeIfTool(["socat"], "serial transport over socat ptys", () => {
  let pair: PtyPair | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await pair?.close();
    pair = undefined;
  });

  async function transports(): Promise<{ dev: MessageTransport; comp: MessageTransport }> {
    pair = await openPtyPair();
    const dev = await openSerialTransport(pair.a, "device", { baud: 115200 });
    const comp = await openSerialTransport(pair.b, "companion", { baud: 115200 });
    cleanups.push(() => dev.close(), () => comp.close());
    return { dev, comp };
  }

  it("carries messages both ways with CRC framing", async () => {
    const { dev, comp } = await transports();
    const atDev: AnyMsg[] = [];
    const atComp: AnyMsg[] = [];
    dev.setHandlers({ onMessage: (m) => atDev.push(m) });
    comp.setHandlers({ onMessage: (m) => atComp.push(m) });
    const cs = new Sequencer();
    const ds = new Sequencer(7);
    const hello = cs.stamp({ type: "hello", client: "test", proto: [1] });
    const move = cs.stamp({ type: "move", id: "m1", axis: "tilt", target: 20.5, speed: 5 });
    comp.send(hello);
    comp.send(move);
    const ack = ds.stamp({ type: "ack", id: "m1", result: "accepted" });
    dev.send(ack);
    await waitFor(() => atDev.length === 2 && atComp.length === 1, 5000, "frames over the pty");
    expect(atDev).toEqual([hello, move]);
    expect(atComp).toEqual([ack]);
    expect(comp.stats.txFrames).toBe(2);
    expect(dev.stats.rxFrames).toBe(2);
  });

  it("drops and counts corrupt and overlong lines written raw to the tty, keeps later frames", async () => {
    pair = await openPtyPair();
    const raw = await openSerialPort(pair.a);
    const comp = await openSerialTransport(pair.b, "companion");
    cleanups.push(() => raw.close(), () => comp.close());
    const got: AnyMsg[] = [];
    comp.setHandlers({ onMessage: (m) => got.push(m) });
    raw.write(Buffer.from('{"v":1,"seq":0,"type":"ack","id":"a","result":"done"}*0000\n'));
    raw.write(Buffer.alloc(2000, 0x41));
    raw.write(Buffer.from("\n"));
    const good = new Sequencer().stamp({ type: "evt", code: "BOOT", severity: "info", msg: "reset: power-on" });
    raw.write(Buffer.from(encodeFrame(good).replace("\n", "\r\n")));
    await waitFor(() => got.length === 1, 5000, "the good frame");
    expect(got[0]).toEqual(good);
    expect(comp.stats.drops.crc).toBe(1);
    expect(comp.stats.drops.overlong).toBe(1);
  });

  it("reports a vanished device (socat killed) through onClose with an error", async () => {
    pair = await openPtyPair();
    const port: SerialBytePort = await openSerialPort(pair.a);
    const peer = await openSerialPort(pair.b);
    cleanups.push(() => port.close(), () => peer.close());
    // Traffic first, as on a live link: the binding reports the hangup from its pending read.
    let rx = 0;
    port.onData((c) => (rx += c.length));
    peer.write(Buffer.from("hi\n"));
    await waitFor(() => rx === 3, 5000, "bytes before the hangup");
    let closedWith: Error | undefined | null = null;
    port.onClose((e) => (closedWith = e));
    pair.process.kill("SIGKILL");
    await waitFor(() => closedWith !== null, 5000, "close after the pty vanished");
    expect(closedWith).toBeInstanceOf(Error);
    // Writing to the dead port is dropped, never thrown.
    port.write(Buffer.from("x\n"));
    expect(port.droppedWrites).toBe(1);
  });

  it("reports a device that hangs up on an idle link, without spinning on end of file", async () => {
    // No traffic: the pending read is parked on the poller, which wakes to a tty that reads zero bytes.
    pair = await openPtyPair();
    const port = await openSerialPort(pair.a);
    cleanups.push(() => port.close());
    let closedWith: Error | undefined | null = null;
    port.onClose((e) => (closedWith = e));
    pair.process.kill("SIGKILL");
    await waitFor(() => closedWith !== null, 5000, "close after an idle hangup");
    expect(closedWith).toBeInstanceOf(Error);
    expect(String(closedWith)).toMatch(/hung up|bad file descriptor|input\/output error/i);
  });

  it("writes beyond maxQueuedBytes waiting behind the port are dropped, not buffered", async () => {
    pair = await openPtyPair();
    const port = await openSerialPort(pair.a, { maxQueuedBytes: 16 * 1024 });
    cleanups.push(() => port.close());
    const chunk = Buffer.alloc(1024, 0x41);
    // 1 MiB at once into a tty nobody reads: far more than the port may queue.
    for (let i = 0; i < 1024; i++) port.write(chunk);
    expect(port.droppedWrites).toBeGreaterThan(900);
  });

  it("a deliberate close reports no error and later writes are dropped", async () => {
    pair = await openPtyPair();
    const port = await openSerialPort(pair.a);
    const errs: (Error | undefined)[] = [];
    port.onClose((e) => errs.push(e));
    await port.close();
    expect(errs).toEqual([undefined]);
    port.write(Buffer.from("x\n"));
    expect(port.droppedWrites).toBe(1);
  });

  it("rejects a missing device path with a clear message", async () => {
    await expect(openSerialPort("/dev/does-not-exist-invert")).rejects.toMatchObject({
      message: expect.stringMatching(/^serial \/dev\/does-not-exist-invert: cannot open: No such file or directory/),
      code: "ENOENT",
    });
    await expect(openSerialPort("/dev/null", { baud: 0 })).rejects.toMatchObject({ code: "EINVAL" });
  });
});
