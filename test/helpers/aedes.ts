// An in-process MQTT broker (aedes) on a private 127.0.0.1 port: no external tool needed, so MQTT
// transport tests always run; the mosquitto fixture covers the reference broker.
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
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
  /** Serve mqtts:// with the test certificates in ./tls; `clientCert` requires a client certificate. */
  tls?: { clientCert?: boolean };
}

/** The test-only TLS material (see tls/README.md). */
export function testTls(): { ca: Buffer; serverCert: Buffer; serverKey: Buffer; clientCert: Buffer; clientKey: Buffer } {
  const f = (name: string) => readFileSync(new URL(`./tls/${name}`, import.meta.url));
  return { ca: f("ca.crt"), serverCert: f("server.crt"), serverKey: f("server.key"), clientCert: f("client.crt"), clientKey: f("client.key") };
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
  const onSocket = (socket: Socket): void => {
    // Small control frames must not wait for Nagle's algorithm.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    broker.handle(socket);
  };
  let server: Server;
  if (opts.tls) {
    const m = testTls();
    const requireCert = opts.tls.clientCert ?? false;
    server = createTlsServer({ key: m.serverKey, cert: m.serverCert, ca: m.ca, requestCert: requireCert, rejectUnauthorized: requireCert }, onSocket);
  } else server = createServer(onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  let closed = false;
  return {
    url: `${opts.tls ? "mqtts" : "mqtt"}://127.0.0.1:${port}`,
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
