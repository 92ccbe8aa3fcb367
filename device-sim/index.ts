// Public API of the device simulator (see the agreed API notes): build a simulated device on any
// transport and clock, or an embedded one with its companion-side transport on an in-process link.
export { createSimDevice, createEmbeddedSim, type SimDevice, type SimDeviceOptions, type SimTruth } from "./device.js";
export { parseSimConfig, SimConfigSchema, SimConfigError, type SimConfig, type SimModel } from "./config.js";
export type { FaultInjector, When, ForDuration } from "./faults/injector.js";
export type { AngleSensor } from "./physics/sensors.js";
export type { ReturnPhase } from "./firmware/return-plan.js";
export { FaultyTransport, type LinkFaultControl } from "./transport/faulty-transport.js";
export { decide, monitor, REACTIONS, type SafetyAction, type DecideState } from "./firmware/safety.js";
// The stand-alone runner (serial/MQTT, real time) lives in ./standalone.js, kept out of this entry point
// so that embedding the simulator never loads the serial and MQTT stacks.
export {
  applyFaultPlan,
  FlagError,
  parseAtFor,
  parseCorrupt,
  parseDropLink,
  parseLatency,
  parsePowerLoss,
  parseSensorBias,
  parseSensorDrift,
  parseSensorStuck,
  type FaultPlan,
} from "./fault-plan.js";
