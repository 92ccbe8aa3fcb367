// Child process of the fleet bench: runs many simulated devices over MQTT on one real clock, so their
// CPU and memory are measured apart from the bench client and the bridge. Prints JSON lines on stdout:
// {"ready":n} once all are connected, then {"tlm":count} every second.
import { parseArgs } from "node:util";
import { RealClock } from "../protocol/index.js";
import { MqttTransport } from "../protocol/transport/mqtt.js";
import { createSimDevice, type SimDevice } from "../device-sim/index.js";

const { values } = parseArgs({
  options: { url: { type: "string" }, count: { type: "string" }, prefix: { type: "string", default: "fleet-" }, "step-ms": { type: "string", default: "50" } },
});
const url = values.url!;
const n = Number(values.count);
const clock = new RealClock();
const sims: SimDevice[] = [];
const transports: MqttTransport[] = [];
let tlm = 0;
for (let i = 0; i < n; i += 50) {
  await Promise.all(
    Array.from({ length: Math.min(50, n - i) }, async (_, k) => {
      const id = `${values.prefix}${String(i + k).padStart(4, "0")}`;
      const transport = await MqttTransport.connect({ url, deviceId: id, role: "device", keepaliveS: 30 });
      transports.push(transport);
      // A coarser physics step than the default 10 ms: a thousand devices share one thread here.
      const sim = createSimDevice({ clock, transport, seed: i + k, config: { model: "table", stepMs: Number(values["step-ms"]) } });
      sim.onTelemetry(() => tlm++);
      sims.push(sim);
    }),
  );
}
process.stdout.write(JSON.stringify({ ready: n }) + "\n");
setInterval(() => process.stdout.write(JSON.stringify({ tlm }) + "\n"), 500);
const stop = async () => {
  for (const s of sims) s.stop();
  await Promise.all(transports.map((t) => t.close().catch(() => undefined)));
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
