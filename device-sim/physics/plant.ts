// The physical device: tilt drive, traction drive, sensors and the user-facing switches, advanced one
// fixed step at a time by the simulator loop. Knows nothing of the protocol or the firmware.
import type { SimConfig } from "../config.js";
import { motorCurrent } from "./motor-current.js";
import { AngleSensors } from "./sensors.js";
import { TiltActuator } from "./tilt-actuator.js";
import { TractionActuator } from "./traction.js";
import type { Rng } from "./noise.js";
import type { SwitchStateT } from "../../protocol/index.js";

export interface PlantReadings {
  encoder: number;
  inclinometer: number;
  loadCell: number;
  current: number;
  /** The drive's own speed measurement, deg/s. */
  driveVel: number;
  lock: boolean;
  sw: SwitchStateT;
}

export interface PlantCommand {
  tiltVel: number;
  force: number;
}

export class Plant {
  readonly tilt: TiltActuator;
  readonly traction: TractionActuator;
  readonly sensors: AngleSensors;
  lock: boolean;
  sw: SwitchStateT;
  poweredOn = true;
  stalled = false;
  extraCurrentA = 0;
  /**
   * An outside pull on the traction harness (the user pulling against it, a snagged cable): the load cell
   * measures it on top of the drive's force, which the drive itself (and the ground truth) does not include.
   */
  extraForceN = 0;
  current = 0;
  private lastCmd: PlantCommand = { tiltVel: 0, force: 0 };

  constructor(
    private readonly c: SimConfig,
    rng: Rng,
  ) {
    const start = c.initial.tilt ?? (c.model === "stretcher" ? 0 : c.tilt.upright);
    this.tilt = new TiltActuator(c.tilt, start);
    this.traction = new TractionActuator(c.traction.driveRate, c.traction.max, c.initial.force);
    this.sensors = new AngleSensors(c.sensors, rng);
    this.lock = c.initial.lock;
    this.sw = c.initial.sw;
    this.lastCmd.force = c.initial.force;
  }

  step(dtS: number, cmd: PlantCommand): void {
    this.lastCmd = cmd;
    const moving = this.poweredOn && !this.stalled;
    this.tilt.step(dtS, cmd.tiltVel, moving);
    this.traction.step(dtS, cmd.force, this.poweredOn);
    this.current = this.poweredOn
      ? motorCurrent({
          weightKg: this.c.userWeightKg,
          angleDeg: this.tilt.pos,
          vel: this.tilt.vel,
          moving: Math.abs(cmd.tiltVel) > 1e-9,
          // Pushing against a mechanical end stop loads the motor like a stall.
          stalled: this.stalled || this.tilt.atEndStop,
          stallCurrentA: this.c.motor.stallCurrentA,
          extraA: this.extraCurrentA,
        })
      : 0;
  }

  read(nowMs: number): PlantReadings {
    const a = this.sensors.read(this.tilt.pos, nowMs);
    return {
      encoder: a.encoder,
      inclinometer: a.inclinometer,
      loadCell: this.sensors.readLoadCell(this.traction.force + this.extraForceN),
      current: this.current,
      driveVel: this.tilt.vel,
      lock: this.lock,
      sw: this.sw,
    };
  }

  get commanded(): PlantCommand {
    return this.lastCmd;
  }
}
