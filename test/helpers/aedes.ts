// An in-process MQTT broker (aedes) on a private 127.0.0.1 port: no external tool needed, so MQTT
// transport tests always run; the mosquitto fixture covers the reference broker.
import { createServer, type Server, type Socket } from "node:net";
import { Aedes, type AedesOptions } from "aedes";

export interface AedesBroker {
  url: string;
  port: number;
  broker: Aedes;
  /** Closes the listener, every client connection and the broker. */
  close(): Promise<void>;
}

export interface AedesFixtureOptions {
  port?: number;
  /** Accept only this username/password (anonymous clients are refused). */
  credentials?: { username: string; password: string };
  /** Passed through to aedes (hooks, timeouts). */
  broker?: AedesOptions;
}

export async function startAedes(opts: AedesFixtureOptions = {}): Promise<AedesBroker> {
  const cred = opts.credentials;
  const broker = await Aedes.createBroker({
    ...opts.broker,
    ...(cred && {
      authenticate: (_client, username, password, done) => {
        const ok = username === cred.username && password?.toString() === cred.password;
        if (ok) done(null, true);
        else done(Object.assign(new Error("bad username or password"), { returnCode: 4 }), false);
      },
    }),
  });
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    // Small control frames must not wait for Nagle's algorithm.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  let closed = false;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    broker,
    async close() {
      if (closed) return;
      closed = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
