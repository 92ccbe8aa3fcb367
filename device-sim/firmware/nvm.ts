// What the firmware keeps in non-volatile memory (EEPROM/flash), so it survives a power loss: the
// inclinometer's mounting calibration, the user's soft limits and the traction setpoint at power fail. Both matter most right after a
// reboot, when the user may be hanging head-down and the firmware must bring them back on its own:
// re-learning the calibration from whatever the sensors say at that moment would bake a sensor fault
// into it, and forgetting the soft limits would run that return faster than the user's own limit.
import type { SoftLimits } from "./validate.js";

export interface Nvm {
  /** Inclinometer minus encoder, learned at the first boot (factory calibration), then tracked slowly. */
  incOffset?: number;
  /** The last soft limits the device accepted; replaced by every accepted `limits`. */
  soft?: SoftLimits;
  /**
   * The traction setpoint, saved by the power-fail interrupt (the supply's hold-up time covers one small
   * write). At boot the load cell alone cannot tell the force the brake held from an outside pull.
   */
  forceAtPowerFail?: number;
}

/** A fresh device: nothing stored yet. */
export function blankNvm(): Nvm {
  return {};
}
