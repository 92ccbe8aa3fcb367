// Which tilt reading the firmware believes. Normally the encoder (fine, directly on the drive). The
// inclinometer's mounting offset is a calibration kept in non-volatile memory (learned at the first boot,
// then tracked slowly within a narrow band, so a sensor fault can never be learned as calibration).
// While the two sensors agree the firmware remembers that moment. When they disagree beyond the
// threshold, it trusts, in this order:
// 1. the only reading inside the mechanical travel (a reading beyond the end stops is impossible);
// 2. the sensor whose movement since the last agreement matches what the drive was commanded to do (a
//    stuck, drifting or suddenly biased sensor stops doing so);
// 3. otherwise the more head-down reading, so the return never ends short of upright (it may then crawl
//    into the upright end stop at approach speed, which the stall detector reads as the end of travel).
// Each new disagreement (after the sensors agreed again) is a new episode and is decided afresh, since
// the sensor that failed then may not be the one that failed before.
import type { PlantReadings } from "../physics/plant.js";

export type Trusted = "encoder" | "inclinometer" | "more head-down";

/** Per-step learning rate of the offset (about 10 s at 10 ms steps). */
const LEARN = 0.001;
/** How far the tracked offset may wander from the stored calibration (thermal drift of a real part). */
const TRACK_BAND_DEG = 0.5;

export interface TrustParams {
  mismatchDeg: number;
  /** Mechanical travel: no true reading can lie outside it. */
  travelMin: number;
  travelMax: number;
  /** Stored calibration (inclinometer minus encoder); undefined on a device never calibrated. */
  calibration?: number;
}

export class SensorTrust {
  /** Inclinometer minus encoder while they agree: the mounting bias. */
  private offset = 0;
  private calib: number | undefined;
  private ref?: { enc: number; inc: number; cmd: number };
  private choice?: Trusted;

  constructor(
    private readonly p: TrustParams,
    /** Inclinometer minus encoder averaged over the boot samples: used only when nothing is stored. */
    bootOffset: number,
  ) {
    this.calib = p.calibration !== undefined && Number.isFinite(p.calibration) ? p.calibration : Number.isFinite(bootOffset) ? bootOffset : undefined;
    this.offset = this.calib ?? 0;
  }

  /** The calibration to store (the first boot's, once learned). */
  get calibration(): number | undefined {
    return this.calib;
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

  private credible(x: number): boolean {
    return x >= this.p.travelMin && x <= this.p.travelMax;
  }

  /**
   * The most upright of the credible readings and `reckoned` (where the commanded motion alone puts the
   * table). Whatever sensor is believed, a speed that must be slow near upright is decided on this one:
   * if any witness says the user is close, they may be. Dead reckoning errs toward upright when the
   * drive lags on the way up, which only makes the approach start earlier; the travel of a confirmed
   * stall is taken out by the firmware, since the same witness also decides whether a stall in the last
   * degrees is the end stop.
   */
  mostUpright(r: PlantReadings, reckoned: number): number {
    const inc = this.inclinometer(r);
    let m = reckoned;
    if (this.credible(r.encoder)) m = Math.min(m, r.encoder);
    if (this.credible(inc)) m = Math.min(m, inc);
    return m;
  }

  /**
   * The tilt estimate for this step. `cmdPos` is the integral of the commanded velocity (never re-based),
   * i.e. where the drive was told to go. `latched`: SENSOR_MISMATCH is latched.
   */
  estimate(r: PlantReadings, cmdPos: number, latched: boolean): number {
    const diff = r.inclinometer - r.encoder;
    const agree = Math.abs(diff - this.offset) <= this.p.mismatchDeg / 10;
    if (agree) this.ref = { enc: r.encoder, inc: r.inclinometer, cmd: cmdPos };
    if (!latched) {
      this.choice = undefined;
      if (this.calib === undefined) {
        this.calib = diff;
        this.offset = diff;
      } else if (agree) {
        const next = this.offset + LEARN * (diff - this.offset);
        this.offset = Math.min(this.calib + TRACK_BAND_DEG, Math.max(this.calib - TRACK_BAND_DEG, next));
      }
      return r.encoder;
    }
    const inc = this.inclinometer(r);
    let choice = this.choice ?? this.choose(r, cmdPos);
    // A believed reading that leaves the mechanical travel proves itself wrong.
    if (choice === "encoder" && !this.credible(r.encoder) && this.credible(inc)) choice = this.choice = "inclinometer";
    if (choice === "inclinometer" && !this.credible(inc) && this.credible(r.encoder)) choice = this.choice = "encoder";
    switch (choice) {
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
    const inc = this.inclinometer(r);
    const encOk = this.credible(r.encoder);
    const incOk = this.credible(inc);
    if (encOk !== incOk) return (this.choice = encOk ? "encoder" : "inclinometer");
    const ref = this.ref;
    if (!ref) return (this.choice = "more head-down");
    const moved = cmdPos - ref.cmd;
    const devEnc = Math.abs(r.encoder - ref.enc - moved);
    const devInc = Math.abs(r.inclinometer - ref.inc - moved);
    if (Math.abs(devEnc - devInc) < this.p.mismatchDeg / 2) this.choice = "more head-down";
    else this.choice = devEnc < devInc ? "encoder" : "inclinometer";
    return this.choice;
  }

  /** A new disagreement (the sensors agreed in between): decide again from the latest agreement. */
  newEpisode(): void {
    this.choice = undefined;
  }

  reset(): void {
    this.choice = undefined;
  }
}
