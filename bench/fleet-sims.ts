// Child process of the fleet bench: runs many simulated devices over MQTT, so their CPU and memory are
// measured apart from the bench client and the bridge. Each device keeps its own MQTT connection, as real
// devices would; their physics steps share one clock. Prints JSON lines on stdout: {"ready":n} once all
// are connected, then {"tlm":count} twice a second.
import { parseArgs } from "node:util";
import { VirtualClock } from "../protocol/index.js";
import { MqttTransport } from "../protocol/transport/mqtt.js";
import { createSimDevice, type SimDevice } from "../device-sim/index.js";

const { values } = parseArgs({
  options: { url: { type: "string" }, count: { type: "string" }, prefix: { type: "string", default: "fleet-" }, "step-ms": { type: "string", default: "50" } },
});
const url = values.url!;
const n = Number(values.count);
// One real timer steps every device: a virtual clock advanced to wall time every PUMP_MS fires each due
// physics step, in order, in one batch, instead of a thousand timers each with its own callback round.
// Devices keep the phases they booted with, so their telemetry stays spread over the period.
const PUMP_MS = 10;
// After a stall of this process (a thousand devices share one thread; real devices never stall
// together), catch up in slices with the sockets read in between, so the heartbeats that queued up reach
// the firmware before its watchdog runs past them.
const SLICE_MS = 50;
const clock = new VirtualClock();
const origin = performance.now();
let catchingUp = false;
const advance = (): void => {
  const target = performance.now() - origin;
  const to = Math.min(target, clock.now() + SLICE_MS);
  clock.advanceTo(to);
  catchingUp = to < target;
  if (catchingUp) setImmediate(advance);
};
const pump = setInterval(() => {
  if (!catchingUp) advance();
}, PUMP_MS);
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
  clearInterval(pump);
  for (const s of sims) s.stop();
  await Promise.all(transports.map((t) => t.close().catch(() => undefined)));
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
