// Which tilt reading the firmware believes. Normally the encoder (fine, directly on the drive). While the
// two sensors agree, each one's offset from the commanded setpoint is learned. When they disagree beyond
// the threshold, the return trusts the sensor that still follows the motion the drive was commanded to
// make (a stuck, drifting or suddenly biased sensor stops doing so); if that does not single one out, it
// trusts the more head-down reading, so the return never ends short of upright (it may then crawl into
// the upright end stop at approach speed, which the stall detector reads as the end of travel).
import type { PlantReadings } from "../physics/plant.js";
import type { AxisSetpoint } from "./profile.js";

export type Trusted = "encoder" | "inclinometer" | "more head-down";

const LEARN = 0.01;

export class SensorTrust {
  private encOff = 0;
  private incOff = 0;
  private learned = false;
  private choice?: Trusted;

  constructor(private readonly mismatchDeg: number) {}

  /** Inclinometer minus encoder as learned while they agreed (the mounting bias). */
  get refDiff(): number {
    return this.incOff - this.encOff;
  }

  estimate(r: PlantReadings, sp: AxisSetpoint, mismatch: boolean): number {
    if (!mismatch) {
      this.choice = undefined;
      if (Math.abs(r.encoder - r.inclinometer - (this.learned ? -this.refDiff : 0)) <= this.mismatchDeg / 2) {
        const e = r.encoder - sp.p;
        const i = r.inclinometer - sp.p;
        if (!this.learned) {
          this.encOff = e;
          this.incOff = i;
          this.learned = true;
        } else {
          this.encOff += LEARN * (e - this.encOff);
          this.incOff += LEARN * (i - this.incOff);
        }
      }
      return r.encoder;
    }
    const enc = r.encoder - this.encOff;
    const inc = r.inclinometer - this.incOff;
    switch (this.choice ?? this.choose(r, sp)) {
      case "encoder":
        return enc;
      case "inclinometer":
        return inc;
      default:
        return Math.max(enc, inc);
    }
  }

  /** Decides (once per mismatch episode) which sensor the firmware believes from now on. */
  choose(r: PlantReadings, sp: AxisSetpoint): Trusted {
    if (this.choice) return this.choice;
    const devEnc = Math.abs(r.encoder - this.encOff - sp.p);
    const devInc = Math.abs(r.inclinometer - this.incOff - sp.p);
    if (Math.abs(devEnc - devInc) < this.mismatchDeg / 2) this.choice = "more head-down";
    else this.choice = devEnc < devInc ? "encoder" : "inclinometer";
    return this.choice;
  }

  reset(): void {
    this.choice = undefined;
  }
}
