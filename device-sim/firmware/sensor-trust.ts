// Which tilt reading the firmware believes. Normally the encoder (fine, directly on the drive). While the
// two sensors agree, the firmware learns the inclinometer's offset from the encoder, and remembers the
// last moment they agreed. When they disagree beyond the threshold, it trusts the sensor whose movement
// since that moment matches the movement the drive was commanded to make (a stuck, drifting or suddenly
// biased sensor stops doing so). If that does not single one out, it trusts the more head-down reading,
// so the return never ends short of upright (it may then crawl into the upright end stop at approach
// speed, which the stall detector reads as the end of travel).
import type { PlantReadings } from "../physics/plant.js";

export type Trusted = "encoder" | "inclinometer" | "more head-down";

/** Per-step learning rate of the offset (about 10 s at 10 ms steps). */
const LEARN = 0.001;

export class SensorTrust {
  /** Inclinometer minus encoder while they agree: the mounting bias. */
  private offset = 0;
  private learned = false;
  private ref?: { enc: number; inc: number; cmd: number };
  private choice?: Trusted;

  /** `bootOffset`: inclinometer minus encoder averaged over the boot samples. */
  constructor(
    private readonly mismatchDeg: number,
    bootOffset?: number,
  ) {
    if (bootOffset !== undefined && Number.isFinite(bootOffset)) {
      this.offset = bootOffset;
      this.learned = true;
    }
  }

  /** The sensor believed during the current mismatch episode, if one is running. */
  get trusted(): Trusted | undefined {
    return this.choice;
  }

  /** The inclinometer reading in the encoder's frame (through the learned offset). */
  inclinometer(r: PlantReadings): number {
    return r.inclinometer - this.offset;
  }

  get refDiff(): number {
    return this.offset;
  }

  /**
   * The tilt estimate for this step. `cmdPos` is the integral of the commanded velocity (never re-based),
   * i.e. where the drive was told to go.
   */
  estimate(r: PlantReadings, cmdPos: number, mismatch: boolean): number {
    if (!mismatch) {
      this.choice = undefined;
      const diff = r.inclinometer - r.encoder;
      if (!this.learned) {
        this.offset = diff;
        this.learned = true;
      }
      if (Math.abs(diff - this.offset) <= this.mismatchDeg / 10) {
        this.offset += LEARN * (diff - this.offset);
        this.ref = { enc: r.encoder, inc: r.inclinometer, cmd: cmdPos };
      }
      return r.encoder;
    }
    const inc = r.inclinometer - this.offset;
    switch (this.choice ?? this.choose(r, cmdPos)) {
      case "encoder":
        return r.encoder;
      case "inclinometer":
        return inc;
      default:
        return Math.max(r.encoder, inc);
    }
  }

  /** Decides (once per mismatch episode) which sensor the firmware believes from now on. */
  choose(r: PlantReadings, cmdPos: number): Trusted {
    if (this.choice) return this.choice;
    const ref = this.ref;
    if (!ref) return (this.choice = "more head-down");
    const moved = cmdPos - ref.cmd;
    const devEnc = Math.abs(r.encoder - ref.enc - moved);
    const devInc = Math.abs(r.inclinometer - ref.inc - moved);
    if (Math.abs(devEnc - devInc) < this.mismatchDeg / 2) this.choice = "more head-down";
    else this.choice = devEnc < devInc ? "encoder" : "inclinometer";
    return this.choice;
  }

  reset(): void {
    this.choice = undefined;
  }
}
