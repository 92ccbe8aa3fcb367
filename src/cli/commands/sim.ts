// `invert sim`: one simulated device in real time, served on a serial port or over MQTT, with optional
// telemetry/event trace and scheduled faults. Ctrl-C (or SIGTERM) shuts it down cleanly.
import { Command } from "commander";
import {
  parseAtFor,
  parseCorrupt,
  parseDropLink,
  parseLatency,
  parsePowerLoss,
  parseSensorBias,
  parseSensorDrift,
  parseSensorStuck,
  type FaultPlan,
} from "../../../device-sim/fault-plan.js";

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface SimFlags {
  serial?: string;
  baud?: string;
  mqtt?: string;
  id?: string;
  username?: string;
  password?: string;
  model?: string;
  config?: string;
  trace?: string;
  seed?: string;
  dropLink?: string[];
  corrupt?: string;
  latency?: string;
  sensorBias?: string;
  sensorDrift?: string;
  sensorStuck?: string;
  stallAt?: string;
  overcurrentAt?: string;
  overforceAt?: string;
  stopSwitchAt?: string;
  ankleOpenAt?: string;
  powerLossAt?: string;
}

const MODELS = ["table", "stretcher", "combo"] as const;

function usage(msg: string): Error {
  return Object.assign(new Error(msg), { exitCode: 2 });
}

function intFlag(flag: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw usage(`${flag}: expected ${min > 0 ? "a positive" : "a non-negative"} integer, got "${v}"`);
  return n;
}

/**
 * Flags of the other transport would be dropped without a word (a device served at the wrong rate, or
 * under another id than the one typed): refused instead. With both or neither transport, the
 * simulator's own "exactly one of" message says more.
 */
function checkTransportFlags(o: SimFlags): void {
  if (o.mqtt !== undefined && o.serial === undefined && o.baud !== undefined) throw usage("--baud: only with --serial (MQTT has no line rate)");
  if (o.serial !== undefined && o.mqtt === undefined) {
    for (const [flag, v] of [["--id", o.id], ["--username", o.username], ["--password", o.password]] as const) {
      if (v !== undefined) throw usage(`${flag}: only with --mqtt (serving on serial ${o.serial})`);
    }
  }
}

/** Flags to fault plan; any bad value throws one line naming the flag. */
export function faultPlanFromFlags(o: SimFlags): Partial<FaultPlan> {
  const p: Partial<FaultPlan> = { dropLink: (o.dropLink ?? []).map(parseDropLink) };
  if (o.corrupt !== undefined) p.corrupt = parseCorrupt(o.corrupt);
  if (o.latency !== undefined) p.latency = parseLatency(o.latency);
  if (o.sensorBias !== undefined) p.sensorBias = parseSensorBias(o.sensorBias);
  if (o.sensorDrift !== undefined) p.sensorDrift = parseSensorDrift(o.sensorDrift);
  if (o.sensorStuck !== undefined) p.sensorStuck = parseSensorStuck(o.sensorStuck);
  if (o.stallAt !== undefined) p.stall = parseAtFor("--stall-at", o.stallAt);
  if (o.overcurrentAt !== undefined) p.overcurrent = parseAtFor("--overcurrent-at", o.overcurrentAt);
  if (o.overforceAt !== undefined) p.overforce = parseAtFor("--overforce-at", o.overforceAt);
  if (o.stopSwitchAt !== undefined) {
    const a = parseAtFor("--stop-switch-at", o.stopSwitchAt);
    p.stopSwitch = { atS: a.atS, ...(a.durationS === undefined ? {} : { releaseAfterS: a.durationS }) };
  }
  if (o.ankleOpenAt !== undefined) {
    const a = parseAtFor("--ankle-open-at", o.ankleOpenAt);
    p.ankleOpen = { atS: a.atS, ...(a.durationS === undefined ? {} : { closeAfterS: a.durationS }) };
  }
  if (o.powerLossAt !== undefined) p.powerLoss = parsePowerLoss(o.powerLossAt);
  return p;
}

export function register(program: Command): void {
  program
    .command("sim")
    .description("run a simulated device (firmware safety logic on a physics model) on a serial port or over MQTT")
    .option("--serial <path>", "serve on this serial port, e.g. one end of a socat pty pair")
    .option("--baud <rate>", "serial line rate (default 115200; ignored by ptys)")
    .option("--mqtt <url>", "serve over MQTT: mqtt://[user:pass@]host:port or mqtts://...")
    .option("--id <deviceId>", "device id in the MQTT topics (invert/<id>/...)")
    .option("--username <name>", "MQTT username")
    .option("--password <secret>", "MQTT password (or INVERT_MQTT_PASSWORD)")
    .option("--model <model>", `device model: ${MODELS.join(", ")} (overrides the config file)`)
    .option("--config <file>", "simulator config, JSON or YAML (limits, speeds, watchdog, telemetry rate, user weight)")
    .option("--trace <file>", "append every telemetry sample and event as JSON lines")
    .option("--seed <n>", "noise seed (runs replay exactly)")
    .option("--drop-link <at:duration>", "cut the link at AT s for DURATION s (repeatable)", collect)
    .option("--corrupt <rate>", "corrupt each byte with this probability (0..1)")
    .option("--latency <ms[:jitter]>", "add latency and jitter (ms) to the link")
    .option("--sensor-bias <deg[:at[:sensor]]>", "add a bias to the inclinometer (or encoder) from AT s")
    .option("--sensor-drift <deg/s[:at[:sensor]]>", "make the inclinometer (or encoder) drift from AT s")
    .option("--sensor-stuck <at[:sensor]>", "freeze the inclinometer (or encoder) reading at AT s")
    .option("--stall-at <s[:duration]>", "stall the tilt motor at S s (for DURATION s)")
    .option("--overcurrent-at <s[:duration]>", "add 10 A of motor current at S s (for DURATION s)")
    .option("--overforce-at <s[:duration]>", "pull 1000 N on the traction harness at S s (for DURATION s)")
    .option("--stop-switch-at <s[:release]>", "press the patient stop switch at S s (release after RELEASE s)")
    .option("--ankle-open-at <s[:close]>", "open the ankle lock at S s (close after CLOSE s)")
    .option("--power-loss-at <s:off>", "cut the power at S s for OFF s, then reboot")
    .addHelpText(
      "after",
      `
Examples:
  socat -d -d pty,raw,echo=0,link=/tmp/ttyA pty,raw,echo=0,link=/tmp/ttyB &
  invert sim --serial /tmp/ttyB                        then: invert run --device serial:/tmp/ttyA
  invert sim --serial /tmp/ttyB --model combo --trace sim.jsonl
  invert sim --mqtt mqtt://localhost:1883 --id table-1   then: invert run --device mqtt://localhost:1883/table-1
  invert sim --serial /tmp/ttyB --drop-link 30:5 --stop-switch-at 60

Ctrl-C stops the simulator (like pulling its plug: a connected companion sees the link go).`,
    )
    .action(async (o: SimFlags) => {
      if (o.model !== undefined && !(MODELS as readonly string[]).includes(o.model)) {
        throw usage(`--model: expected one of ${MODELS.join(", ")}, got "${o.model}"`);
      }
      let faults: Partial<FaultPlan>;
      try {
        faults = faultPlanFromFlags(o);
      } catch (e) {
        throw usage((e as Error).message);
      }
      checkTransportFlags(o);
      const baud = intFlag("--baud", o.baud, 1);
      const seed = intFlag("--seed", o.seed);
      // Loaded lazily so that `invert --help` never loads the serial and MQTT stacks.
      const { runStandaloneSim } = await import("../../../device-sim/standalone.js");
      const { SimConfigError } = await import("../../../device-sim/config.js");
      let sim;
      try {
        sim = await runStandaloneSim({
          serial: o.serial,
          baud,
          mqtt: o.mqtt,
          id: o.id,
          username: o.username,
          password: o.password ?? process.env.INVERT_MQTT_PASSWORD,
          model: o.model as (typeof MODELS)[number] | undefined,
          config: o.config,
          trace: o.trace,
          seed,
          faults,
        });
      } catch (e) {
        if (e instanceof SimConfigError || /^sim: /.test((e as Error).message)) throw usage((e as Error).message);
        throw e;
      }
      const stopOn = new Promise<string>((resolve) => {
        process.once("SIGINT", () => resolve("SIGINT"));
        process.once("SIGTERM", () => resolve("SIGTERM"));
      });
      const why = await Promise.race([stopOn, sim.ended.then((e) => (e ? `error: ${e.message}` : "transport closed"))]);
      await sim.close();
      process.stderr.write(`sim: stopped (${why})\n`);
      // A transport failure is a device/link error (src/cli/exit-codes.ts).
      if (why.startsWith("error")) process.exitCode = 3;
    });
}
