// The fleet target from the bridge's requirements: 1,000 devices at 10 Hz telemetry, request round trip
// p99 under 50 ms. A run at another device count is judged on the same figures, and says so.

export const FLEET_TARGET = { devices: 1000, telemetryHz: 10, p99Ms: 50 } as const;

/** Every device at the target rate, with 5 % room for samples cut off at the edges of the measuring window. */
const MIN_TELEMETRY_PER_DEVICE_PER_S = FLEET_TARGET.telemetryHz * 0.95;

/** The target in words, for report lines. */
export const FLEET_TARGET_TEXT = `${FLEET_TARGET.devices.toLocaleString("en-US")} devices at ${FLEET_TARGET.telemetryHz} Hz, request p99 < ${FLEET_TARGET.p99Ms} ms`;

export interface FleetVerdict {
  /** Round trip, telemetry rate and errors all within the target at this device count. */
  pass: boolean;
  /** The run is at the device count the target names; a pass at fewer devices says nothing about it. */
  atTargetScale: boolean;
  /** What fell short, one phrase each. */
  misses: string[];
}

export function judgeFleet(r: { devices: number; rttMs: { p99: number }; telemetryPerDevicePerS: number; requestErrors: number }): FleetVerdict {
  const misses: string[] = [];
  if (!(r.rttMs.p99 < FLEET_TARGET.p99Ms)) misses.push(`request p99 ${r.rttMs.p99} ms (target < ${FLEET_TARGET.p99Ms} ms)`);
  if (!(r.telemetryPerDevicePerS >= MIN_TELEMETRY_PER_DEVICE_PER_S)) {
    misses.push(`telemetry ${r.telemetryPerDevicePerS} per device per second (target ${FLEET_TARGET.telemetryHz})`);
  }
  if (r.requestErrors > 0) misses.push(`${r.requestErrors} requests answered with an error`);
  return { pass: misses.length === 0, atTargetScale: r.devices >= FLEET_TARGET.devices, misses };
}

export function formatVerdict(v: FleetVerdict, devices: number): string {
  const scale = v.atTargetScale ? "" : ` at ${devices} devices (the target is for ${FLEET_TARGET.devices.toLocaleString("en-US")})`;
  return v.pass ? `met${scale}` : `missed${scale}: ${v.misses.join("; ")}`;
}
