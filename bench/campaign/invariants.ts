// Safety invariants checked on every physics step of the simulator's ground truth (what the user's body
// actually experiences), streaming, so a session of any length costs constant memory.
//
// Tolerances (documented in bench/README-style notes, never widened to make a run pass):
// - position: 0.5 deg (a finished move is within 0.2 deg; the drive overshoots by less than a step);
//   while a sensor fault has been injected, the firmware cannot see an error smaller than its
//   cross-check threshold, so position checks allow the threshold plus what the table travels at full
//   speed during the confirmation time (mismatchDeg + speedMax * mismatchMs).
// - speed: 0.05 deg/s (drive tracking); braking from a faster speed is never a violation (the
//   deceleration is the safe action), cruising or accelerating above a bound is.
// - force: 3 N.
import type { SimConfig, SimTruth } from "../../device-sim/index.js";
import type { EffectiveLimits } from "../../src/limits/effective.js";

export const POS_TOL = 0.5;
export const SPEED_TOL = 0.05;
export const FORCE_TOL = 3;
/** Final state: within this of upright, and traction released below FORCE_TOL. */
export const UPRIGHT_TOL = 0.6;

export interface Violation {
  /** Virtual ms. */
  t: number;
  kind: "limit" | "speed" | "force" | "return-speed" | "final-approach" | "end-state" | "acted-twice" | "history" | "stuck" | "crash";
  message: string;
}

export interface StepContext {
  limits: EffectiveLimits | undefined;
  /** A sensor fault has been injected in this session. */
  sensorFault: boolean;
  /** Session-driven return in force (after a grace for the stop command to cross the link and the brake). */
  sessionReturning: boolean;
}

export class InvariantChecker {
  readonly violations: Violation[] = [];
  private pendingApproach: Violation | undefined;
  private prevSpeed = 0;
  private prevMode = "";
  private readonly upright: number;
  private readonly zone: number;
  private readonly approachSpeed: number;
  private readonly returnSpeed: number;

  constructor(private readonly cfg: SimConfig) {
    this.upright = cfg.tilt.upright;
    this.zone = cfg.tilt.approachZone;
    this.approachSpeed = cfg.tilt.approachSpeed;
    this.returnSpeed = cfg.tilt.returnSpeed;
  }

  sensorAllowance(): number {
    return this.cfg.sensors.mismatchDeg + (this.cfg.tilt.speedMax * this.cfg.sensors.mismatchMs) / 1000;
  }

  private add(v: Violation): void {
    // One of each kind is enough to replay; keep the report short.
    if (this.violations.length < 20 && !this.violations.some((x) => x.kind === v.kind)) this.violations.push(v);
  }

  step(s: SimTruth, ctx: StepContext): void {
    const posTol = POS_TOL + (ctx.sensorFault ? this.sensorAllowance() : 0);
    const lim = ctx.limits;
    const tiltMax = lim?.tiltMax ?? this.cfg.tilt.max;
    const speedMax = lim?.speedMax ?? this.cfg.tilt.speedMax;
    const forceMax = lim?.forceMax ?? this.cfg.traction.max;
    const speed = Math.abs(s.vel);
    // Decelerating: the drive's acceleration opposes the motion, or the speed has just dropped.
    const braking = s.vel * s.accel < 0 || speed < this.prevSpeed - 1e-9;
    // The step on which a return takes over still carries the speed it found; the brake starts next.
    const justReturning = s.mode === "returning" && this.prevMode !== "returning";
    this.prevSpeed = speed;
    this.prevMode = s.mode;
    const at = `t=${(s.t / 1000).toFixed(2)}s`;
    if (s.tilt > tiltMax + posTol) this.add({ t: s.t, kind: "limit", message: `${at}: tilt ${s.tilt.toFixed(2)} past tiltMax ${tiltMax}` });
    if (s.tilt < this.upright - posTol) this.add({ t: s.t, kind: "limit", message: `${at}: tilt ${s.tilt.toFixed(2)} below upright ${this.upright}` });
    if (speed > speedMax + SPEED_TOL && !braking) this.add({ t: s.t, kind: "speed", message: `${at}: speed ${speed.toFixed(2)} deg/s over ${speedMax} (mode ${s.mode})` });
    if (s.force > forceMax + FORCE_TOL) this.add({ t: s.t, kind: "force", message: `${at}: force ${s.force.toFixed(1)} N over ${forceMax}` });
    const returning = s.mode === "returning" || ctx.sessionReturning;
    if (returning && !justReturning && speed > this.returnSpeed + SPEED_TOL && !braking) {
      this.add({ t: s.t, kind: "return-speed", message: `${at}: return at ${speed.toFixed(2)} deg/s over ${this.returnSpeed} (mode ${s.mode}, ret ${s.ret ?? "-"})` });
    }
    // The final approach: the last stretch spent inside the approach zone must be slow. A violation is
    // only confirmed if the table never leaves the zone again (a program may pass through it).
    if (s.tilt < this.upright + this.zone - posTol) {
      // Moving toward upright (negative velocity) is the approach; leaving upright is a program start.
      if (!this.pendingApproach && s.vel < -(this.approachSpeed + SPEED_TOL) && !braking) {
        this.pendingApproach = {
          t: s.t,
          kind: "final-approach",
          message: `${at}: ${speed.toFixed(2)} deg/s at tilt ${s.tilt.toFixed(2)} in the last ${this.zone} deg (mode ${s.mode}, ret ${s.ret ?? "-"})`,
        };
      }
    } else this.pendingApproach = undefined;
  }

  /** Called once the device has settled after the session. */
  end(s: SimTruth, sensorFault: boolean): void {
    if (this.pendingApproach) this.add(this.pendingApproach);
    const tol = UPRIGHT_TOL + (sensorFault ? this.sensorAllowance() : 0);
    const at = `t=${(s.t / 1000).toFixed(2)}s`;
    if (this.cfg.model !== "stretcher" && Math.abs(s.tilt - this.upright) > tol) {
      this.add({ t: s.t, kind: "end-state", message: `${at}: ended at tilt ${s.tilt.toFixed(2)}, not upright (${this.upright}); mode ${s.mode}, faults ${s.faults.join(",") || "-"}` });
    }
    if (this.cfg.model !== "table" && s.force > FORCE_TOL) {
      this.add({ t: s.t, kind: "end-state", message: `${at}: ended with ${s.force.toFixed(1)} N of traction; mode ${s.mode}` });
    }
  }

  fail(v: Violation): void {
    this.add(v);
  }
}
