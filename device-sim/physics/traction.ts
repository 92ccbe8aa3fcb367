// The traction drive: force follows the firmware's force setpoint within the drive's physical rate;
// unpowered, the brake holds the force where it is.

export class TractionActuator {
  force: number;
  rate = 0;

  constructor(
    private readonly driveRate: number,
    private readonly max: number,
    start: number,
  ) {
    this.force = start;
  }

  step(dtS: number, setpoint: number, powered: boolean): void {
    const before = this.force;
    if (powered) {
      const d = this.driveRate * dtS;
      this.force += Math.max(-d, Math.min(d, setpoint - this.force));
      this.force = Math.max(0, Math.min(this.max * 1.2, this.force));
    }
    this.rate = (this.force - before) / dtS;
  }
}
