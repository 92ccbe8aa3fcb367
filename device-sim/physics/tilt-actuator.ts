// The tilt drive as a velocity-controlled servo: it follows the firmware's velocity command within its
// physical acceleration, integrates position at the fixed step, and stops dead at the mechanical end
// stops (which sit outside the hard limits: the firmware must never get there).

export interface TiltActuatorParams {
  min: number;
  max: number;
  endStopMargin: number;
  driveAccel: number;
}

export class TiltActuator {
  pos: number;
  vel = 0;
  /** Acceleration of the last step, deg/s^2. */
  accel = 0;
  /** Set when a step ended against a mechanical end stop. */
  atEndStop = false;
  endStopHits = 0;

  constructor(
    private readonly p: TiltActuatorParams,
    start: number,
  ) {
    this.pos = start;
  }

  get endStopLow(): number {
    return this.p.min - this.p.endStopMargin;
  }
  get endStopHigh(): number {
    return this.p.max + this.p.endStopMargin;
  }

  /** `moving` false models a stalled or unpowered motor: the self-locking drive holds where it is. */
  step(dtS: number, cmdVel: number, moving: boolean): void {
    const before = this.vel;
    if (!moving) this.vel = 0;
    else {
      const dvMax = this.p.driveAccel * dtS;
      this.vel += Math.max(-dvMax, Math.min(dvMax, cmdVel - this.vel));
    }
    this.pos += this.vel * dtS;
    this.atEndStop = false;
    if (this.pos < this.endStopLow || this.pos > this.endStopHigh) {
      this.pos = Math.min(this.endStopHigh, Math.max(this.endStopLow, this.pos));
      this.vel = 0;
      this.atEndStop = true;
      this.endStopHits++;
    }
    this.accel = (this.vel - before) / dtS;
  }
}
