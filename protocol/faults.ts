// The fault and event code table, shared by firmware (simulator) and companion. PROTOCOL.md documents
// the same table; a test checks that the two agree.
import type { SeverityT } from "./messages.js";

export interface FaultSpec {
  /** Numeric class: 1xx information, 2xx warnings and recoverable faults, 3xx critical faults. */
  num: number;
  severity: SeverityT;
  /** Latched codes stay in `tlm.faults` until a `clear` arrives after the cause is gone. */
  latched: boolean;
  reaction: string;
  clearWhen: string;
}

export const FAULTS = {
  BOOT: { num: 100, severity: "info", latched: false, reaction: "Sent after power-up with the reset cause; if not upright, an autonomous return starts.", clearWhen: "-" },
  RETURN_STARTED: { num: 110, severity: "info", latched: false, reaction: "The firmware's slow return profile has started (cause in msg).", clearWhen: "-" },
  RETURN_DONE: { num: 111, severity: "info", latched: false, reaction: "The return profile reached upright (and zero force).", clearWhen: "-" },
  LINK_RESTORED: { num: 120, severity: "info", latched: false, reaction: "Valid frames arrive again after a watchdog expiry; motion stays stopped until new commands.", clearWhen: "-" },
  FAULT_CLEARED: { num: 130, severity: "info", latched: false, reaction: "A latched fault was cleared by `clear`.", clearWhen: "-" },
  RX_ERRORS: { num: 201, severity: "warn", latched: false, reaction: "Many frames dropped (CRC, format); no motion change.", clearWhen: "-" },
  WATCHDOG: { num: 210, severity: "fault", latched: true, reaction: "No valid frame for watchdogMs: autonomous slow return to upright.", clearWhen: "a valid frame has arrived since" },
  STOP_SWITCH: { num: 220, severity: "fault", latched: true, reaction: "Patient stop pressed: controlled deceleration within 0.5 s, then slow return.", clearWhen: "switch released (sw = ok)" },
  SWITCH_DISCONNECTED: { num: 221, severity: "fault", latched: true, reaction: "Patient stop switch unplugged: no motion starts; motion in progress stops and returns.", clearWhen: "switch connected (sw = ok)" },
  ANKLE_LOCK_OPEN: { num: 230, severity: "fault", latched: true, reaction: "Ankle lock open: head-down motion refused; if open while inverted, stop and slow return.", clearWhen: "lock engaged" },
  MAX_TIME_INVERTED: { num: 240, severity: "fault", latched: true, reaction: "Time head-down exceeded maxInvertedS: autonomous slow return.", clearWhen: "upright" },
  POWER_LOSS: { num: 250, severity: "fault", latched: true, reaction: "Reported after a reboot caused by power loss; autonomous return if not upright.", clearWhen: "upright" },
  SENSOR_MISMATCH: { num: 310, severity: "critical", latched: true, reaction: "Encoder and inclinometer disagree beyond threshold: slow return at reduced speed.", clearWhen: "sensors agree and upright" },
  OVERCURRENT: { num: 320, severity: "critical", latched: true, reaction: "Motor current above limit: controlled stop, then slow return at reduced speed.", clearWhen: "upright and current normal" },
  MOTOR_STALL: { num: 330, severity: "critical", latched: true, reaction: "Commanded motion without movement: stop, retry the return at reduced speed; keeps reporting.", clearWhen: "upright" },
  OVERFORCE: { num: 340, severity: "critical", latched: true, reaction: "Load cell above the force limit: traction released at the return rate.", clearWhen: "force at zero" },
} as const satisfies Record<string, FaultSpec>;

export type FaultCodeName = keyof typeof FAULTS;

export function faultSpec(code: string): FaultSpec | undefined {
  return (FAULTS as Record<string, FaultSpec>)[code];
}
