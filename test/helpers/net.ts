// Small TCP helpers for the broker fixtures.
import { connect, createServer, type Socket } from "node:net";

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves true once a TCP connection to 127.0.0.1:port succeeds. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      s.destroy();
      resolve(false);
    });
  });
}

/**
 * A TCP relay to 127.0.0.1:targetPort. `cut()` destroys every relayed connection at once, as a network
 * failure would: the broker sees the client vanish without a DISCONNECT (and fires its last will).
 */
export interface TcpProxy {
  port: number;
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const live = new Set<Socket>();
  const server = createServer((down) => {
    const up = connect({ host: "127.0.0.1", port: targetPort });
    down.setNoDelay(true);
    up.setNoDelay(true);
    live.add(down);
    live.add(up);
    const end = (): void => {
      down.destroy();
      up.destroy();
      live.delete(down);
      live.delete(up);
    };
    down.on("error", end).on("close", end);
    up.on("error", end).on("close", end);
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : 0,
    cut() {
      for (const s of live) s.destroy();
      live.clear();
    },
    close() {
      for (const s of live) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
