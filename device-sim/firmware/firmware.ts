// The simulated microcontroller: protocol handling, command/ack with idempotent ids, hard and soft
// limits, motion profiles, telemetry and the safety reactions. It sees the physical device only through
// sensor readings and acts on it only through a velocity and a force setpoint, once per physics step.
import {
  FAULTS,
  MAX_LINE_BYTES,
  PROTO_VERSION,
  SEQ_MODULO,
  encodeFrame,
  type AckResultT,
  type CompanionMsg,
  type DeviceModeT,
  type DeviceMsg,
  type FaultCodeName,
  type Outgoing,
} from "../../protocol/index.js";
import { hasTilt, hasTraction, type SimConfig } from "../config.js";
import type { PlantCommand, PlantReadings } from "../physics/plant.js";
import { IdCache } from "./id-cache.js";
import type { Nvm } from "./nvm.js";
import { guardLimits, stepBrake, stepSegment, type AxisSetpoint } from "./profile.js";
import { approachCeiling, planReturn, type ReturnParams, type ReturnPhase, type ReturnStep } from "./return-plan.js";
import { decide, initialMonitorState, isCritical, monitor, type MonitorInputs, type MonitorParams, type MonitorState, type SafetyAction, type Trip } from "./safety.js";
import { SensorTrust } from "./sensor-trust.js";
import { checkForce, checkMove, hardSoftLimits, mergeLimits, type SoftLimits } from "./validate.js";

export type ResetCause = "power_on" | "power_loss";

type TiltTask = { kind: "idle" } | { kind: "move"; id: string; target: number; speed: number } | { kind: "brake"; decel: number; id?: string };

interface ForceTask {
  id: string;
  target: number;
  rate: number;
}

interface ActiveReturn {
  cause: string;
  rank: number;
  reduced: boolean;
  decel: number;
  stage: "braking" | "waiting" | "running";
  retryAt?: number;
  steps: ReturnStep[];
  idx: number;
  holdUntil?: number;
  /** After the last step: when to check the table really is upright, and whether it was. */
  verifyAt?: number;
  verified: boolean;
  /** The user was head-down at some point since the table was last near upright: the rest is owed. */
  wasHeadDown: boolean;
  restDone: boolean;
  /** `return` command ids waiting for their "done". */
  ids: string[];
}

export interface FirmwareView {
  mode: DeviceModeT;
  faults: string[];
  ret?: ReturnPhase;
  estimate: number;
  setpoint: AxisSetpoint;
  forceSetpoint: number;
}

export class Firmware {
  private sp: AxisSetpoint;
  private task: TiltTask = { kind: "idle" };
  private forceSp: number;
  private forceTask?: ForceTask;
  private ret?: ActiveReturn;
  private readonly faults = new Set<string>();
  private pending: FaultCodeName[] = [];
  private soft: SoftLimits;
  private readonly ids: IdCache;
  private lastRxAt?: number;
  private mon: MonitorState;
  /** Reused every step (the monitor does not keep it). */
  private readonly monInputs: MonitorInputs = {
    encoder: 0,
    inclinometer: 0,
    incOffset: 0,
    current: 0,
    loadCell: 0,
    sw: "ok",
    lock: true,
    cmdVel: 0,
    lastRxAt: undefined,
    estimate: 0,
  };
  private readonly monParams: MonitorParams;
  private last?: PlantReadings;
  private estimate: number;
  private readonly trust: SensorTrust;
  /** Low-passed (sensor estimate - setpoint): how far the table really is from where the profile thinks. */
  private errEma = 0;
  private prevV = 0;
  /** The same for the inclinometer (through its learned offset), to corroborate a re-base. */
  private incEma = 0;
  /** Integral of the commanded velocity, never re-based: where the drive was told to go. */
  private cmdPos = 0;
  /** The position averaged at boot: with cmdPos, dead reckoning independent of both sensors. */
  private readonly bootPos: number;
  /**
   * Commanded travel that confirmed stalls showed never happened. Dead reckoning is only a witness of
   * how near upright the table may be; left with a stall's travel in it, it would read upright short of
   * upright, and a later stall there would pass for the end stop and end the return short.
   */
  private stalledTravel = 0;
  /** cmdPos when the stall detector last started its window (no movement seen since). */
  private stallWindowCmd = 0;
  acted = 0;
  /**
   * Head-down (beyond the rest angle) since the table was last in the approach zone. A return that starts
   * near horizontal may follow a minute head-down (the low end of a pump, the companion's own rest cut
   * short): the rest is owed whenever the user has been inverted, not only when the return starts there.
   */
  private headDown = false;

  constructor(
    private readonly c: SimConfig,
    private readonly out: (m: Outgoing<DeviceMsg>) => void,
    private readonly opts: { now: number; bootId: string; cause: ResetCause; sample: () => PlantReadings; rxErr: () => number; nvm: Nvm },
  ) {
    const r = opts.sample();
    // Like a real boot: average a burst of encoder samples before trusting the position.
    let sum = r.encoder;
    let diff = r.inclinometer - r.encoder;
    let force = r.loadCell;
    for (let i = 1; i < BOOT_SAMPLES; i++) {
      const s = opts.sample();
      sum += s.encoder;
      diff += s.inclinometer - s.encoder;
      force += s.loadCell;
    }
    this.estimate = hasTilt(c) ? sum / BOOT_SAMPLES : 0;
    this.bootPos = this.estimate;
    force /= BOOT_SAMPLES;
    const t = c.tilt;
    // Beyond the end stops no true reading can lie (with a degree for noise and mounting).
    const travelMin = t.min - t.endStopMargin - 1;
    const travelMax = t.max + t.endStopMargin + 1;
    this.trust = new SensorTrust({ mismatchDeg: c.sensors.mismatchDeg, travelMin, travelMax, calibration: opts.nvm.incOffset }, diff / BOOT_SAMPLES);
    opts.nvm.incOffset = this.trust.calibration;
    this.sp = { p: this.estimate, v: 0 };
    // After a reset the history is gone: away from upright, assume the user may have been inverted.
    this.headDown = hasTilt(c) && this.estimate > c.tilt.upright + c.tilt.approachZone;
    // Hold whatever force the brake kept, but never more than the drive was applying when the power failed:
    // the rest of the reading is someone pulling, and the drive must not add to it. A reading within the
    // noise of zero is zero.
    const held = Math.min(force, opts.nvm.forceAtPowerFail ?? force);
    this.forceSp = hasTraction(c) && held > c.traction.tolerance ? held : 0;
    this.soft = opts.nvm.soft ?? hardSoftLimits(c);
    this.ids = new IdCache(c.idCacheSize);
    this.mon = initialMonitorState(opts.now, r.sw, r.lock);
    this.monParams = {
      watchdogMs: c.watchdogMs,
      mismatchDeg: c.sensors.mismatchDeg,
      mismatchMs: c.sensors.mismatchMs,
      currentMaxA: c.motor.currentMaxA,
      overcurrentMs: c.motor.overcurrentMs,
      stallMs: c.motor.stallMs,
      stallMinSpeed: c.motor.stallMinSpeed,
      stallDetectA: c.motor.stallDetectA,
      maxInvertedS: c.maxInvertedS,
      upright: c.tilt.upright,
      approachZone: c.tilt.approachZone,
      forceTripN: c.traction.max + c.traction.overforceMargin,
      hasTilt: hasTilt(c),
      hasTraction: hasTraction(c),
    };
    this.last = r;
    this.sendCaps();
    this.event("BOOT", `reset cause: ${opts.cause}`);
    // Any boot away from the safe position means the user may be hanging there: bring them back
    // without waiting for a companion.
    if (opts.cause === "power_loss" || !this.isSafe(r)) {
      this.latch("POWER_LOSS", opts.cause === "power_loss" ? "rebooted after power loss" : "booted away from upright");
      this.pending.push("POWER_LOSS");
    }
    // The monitor sees only edges, and a switch already pressed or unplugged at boot has none.
    if (r.sw === "pressed") this.latch("STOP_SWITCH", "patient stop switch pressed at boot");
    if (r.sw === "disconnected") this.latch("SWITCH_DISCONNECTED", "patient stop switch not connected at boot");
  }

  // ---------------------------------------------------------------- protocol in

  onMessage(msg: CompanionMsg, now: number): void {
    if (this.mon.wdTripped) {
      this.mon = { ...this.mon, wdTripped: false };
      this.event("LINK_RESTORED", "valid frames again; motion stays as it is until new commands");
    }
    this.lastRxAt = now;
    switch (msg.type) {
      case "hello":
        // Only major version 1 exists; a peer without it still gets caps and can see the mismatch.
        this.sendCaps();
        return;
      case "hb":
        return;
      default: {
        const seen = this.ids.get(msg.id);
        if (seen) {
          this.send({ type: "ack", id: msg.id, result: seen.result, ...(seen.reason !== undefined ? { reason: seen.reason } : {}) });
          return;
        }
        this.command(msg, now);
      }
    }
  }

  private command(msg: Exclude<CompanionMsg, { type: "hello" | "hb" }>, now: number): void {
    switch (msg.type) {
      case "move":
        return this.onMove(msg.id, msg.target, msg.speed);
      case "force":
        return this.onForce(msg.id, msg.target, msg.rate);
      case "stop":
        return this.onStop(msg.id);
      case "return":
        return this.onReturn(msg.id, now);
      case "limits": {
        if (this.ret) return this.ack(msg.id, "busy", `returning to upright (${this.ret.cause})`);
        const r = mergeLimits(this.c, this.soft, msg);
        if (!r.ok) return this.ack(msg.id, "rejected", r.reason);
        this.soft = r.soft;
        this.opts.nvm.soft = { ...r.soft };
        if (this.task.kind === "move") {
          this.task = { ...this.task, target: this.insideSoft(this.task.target) };
        }
        if (this.forceTask) this.forceTask = { ...this.forceTask, target: Math.min(this.forceTask.target, this.soft.forceMax) };
        this.acted++;
        return this.ack(msg.id, "done");
      }
      case "clear":
        return this.onClear(msg.id, msg.code);
    }
  }

  private motionRefusal(): string | undefined {
    if (this.faults.size) return `fault ${[...this.faults].join(",")} latched: send clear once the cause is gone`;
    const sw = this.last?.sw ?? "ok";
    if (sw !== "ok") return `patient stop switch ${sw}`;
    return undefined;
  }

  private onMove(id: string, target: number, speed: number): void {
    if (!hasTilt(this.c)) return this.ack(id, "unsupported", `model ${this.c.model} has no tilt axis`);
    if (this.ret) return this.ack(id, "busy", `returning to upright (${this.ret.cause})`);
    const reason = checkMove(this.c, this.soft, target, speed) ?? this.motionRefusal();
    if (reason) return this.ack(id, "rejected", reason);
    if (target > this.sp.p + this.c.tilt.tolerance && !(this.last?.lock ?? false)) {
      return this.ack(id, "rejected", "ankle lock open: no head-down motion");
    }
    if (this.task.kind === "move") this.ack(this.task.id, "failed", `superseded by ${id}`);
    if (this.task.kind === "brake" && this.task.id) this.ack(this.task.id, "failed", `superseded by ${id}`);
    this.task = { kind: "move", id, target: this.insideSoft(target), speed };
    this.acted++;
    this.ack(id, "accepted");
  }

  private onForce(id: string, target: number, rate: number): void {
    if (!hasTraction(this.c)) return this.ack(id, "unsupported", `model ${this.c.model} has no traction axis`);
    if (this.ret) return this.ack(id, "busy", `returning to upright (${this.ret.cause})`);
    const reason = checkForce(this.c, this.soft, target, rate) ?? this.motionRefusal();
    if (reason) return this.ack(id, "rejected", reason);
    if (this.forceTask) this.ack(this.forceTask.id, "failed", `superseded by ${id}`);
    this.forceTask = { id, target, rate };
    this.acted++;
    this.ack(id, "accepted");
  }

  private onStop(id: string): void {
    if (this.ret && this.faults.size > 0) {
      // While a fault is latched nothing but this return brings the user back: moves are refused and most
      // codes clear only upright. Cancelled, it would leave them where they stopped for as long as the
      // companion keeps the link up, past maxInvertedS too (that cap trips once per stay head-down).
      return this.ack(id, "busy", `returning to upright (${this.ret.cause}): fault ${[...this.faults].join(",")} latched, the return goes on`);
    }
    this.acted++;
    let decel = this.c.tilt.accelMax;
    if (this.ret) {
      // A return the companion asked for, with nothing latched: the companion takes over.
      if (this.ret.stage === "braking") decel = Math.max(decel, this.ret.decel);
      for (const rid of this.ret.ids) this.ack(rid, "failed", "stopped");
      this.ret = undefined;
    }
    if (this.task.kind === "move") this.ack(this.task.id, "failed", "stopped");
    if (this.task.kind === "brake") {
      decel = Math.max(decel, this.task.decel);
      if (this.task.id) this.ack(this.task.id, "failed", `superseded by ${id}`);
    }
    if (this.forceTask) {
      this.ack(this.forceTask.id, "failed", "stopped");
      this.forceTask = undefined;
    }
    this.task = { kind: "brake", decel, id };
    this.ack(id, "accepted");
  }

  private onReturn(id: string, now: number): void {
    this.acted++;
    if (this.ret) {
      this.ret.ids.push(id);
      return this.ack(id, "accepted");
    }
    this.ack(id, "accepted");
    if (this.last && this.isSafe(this.last)) return this.ack(id, "done");
    this.startReturn(now, "command", { rank: 0, reduced: this.criticalLatched(), brake: "normal" }, [id]);
  }

  private onClear(id: string, code: string): void {
    if (this.ret) return this.ack(id, "busy", `returning to upright (${this.ret.cause})`);
    if (!this.faults.has(code)) return this.ack(id, "rejected", `${code} is not latched`);
    const why = this.clearBlocker(code);
    if (why) return this.ack(id, "rejected", `${code} cause still present: ${why}`);
    this.faults.delete(code);
    if (code === "SENSOR_MISMATCH") this.trust.reset();
    this.acted++;
    this.event("FAULT_CLEARED", `${code} cleared`);
    this.ack(id, "done");
  }

  private clearBlocker(code: string): string | undefined {
    const r = this.last;
    if (!r) return undefined;
    const upright = !hasTilt(this.c) || this.nearUpright();
    switch (code as FaultCodeName) {
      case "STOP_SWITCH":
      case "SWITCH_DISCONNECTED":
        return r.sw === "ok" ? undefined : `switch ${r.sw}`;
      case "ANKLE_LOCK_OPEN":
        return r.lock ? undefined : "ankle lock open";
      case "MAX_TIME_INVERTED":
      case "POWER_LOSS":
      case "MOTOR_STALL":
        return upright ? undefined : "not upright";
      case "SENSOR_MISMATCH":
        if (Math.abs(r.inclinometer - r.encoder - this.trust.refDiff) > this.c.sensors.mismatchDeg) return "sensors still disagree";
        return upright ? undefined : "not upright";
      case "OVERCURRENT":
        if (r.current > this.c.motor.currentMaxA) return "current above limit";
        return upright ? undefined : "not upright";
      case "OVERFORCE":
        return r.loadCell <= this.c.traction.tolerance ? undefined : "force not at zero";
      default:
        return undefined;
    }
  }

  // ---------------------------------------------------------------- the control step

  step(now: number, r: PlantReadings): PlantCommand {
    this.last = r;
    const tiltAxis = hasTilt(this.c);
    this.estimate = tiltAxis ? this.trust.estimate(r, this.cmdPos, this.faults.has("SENSOR_MISMATCH")) : 0;

    if (tiltAxis) {
      this.trackPosition(r);
      const t = this.c.tilt;
      if (this.estimate > t.restAngle + t.tolerance) this.headDown = true;
      else if (this.estimate <= t.upright + t.approachZone) this.headDown = false;
    }

    const inputs = this.monInputs;
    inputs.encoder = r.encoder;
    inputs.inclinometer = r.inclinometer;
    inputs.incOffset = this.trust.refDiff;
    inputs.current = r.current;
    inputs.loadCell = r.loadCell;
    inputs.sw = r.sw;
    inputs.lock = r.lock;
    inputs.cmdVel = this.sp.v;
    inputs.lastRxAt = this.lastRxAt;
    inputs.estimate = this.estimate;
    const m = monitor(now, inputs, this.mon, this.monParams);
    this.mon = m.state;
    if (m.state.stallSince === now) this.stallWindowCmd = this.cmdPos;
    for (const t of m.trips) this.trip(t, now);

    if (this.pending.length) {
      const action: SafetyAction = decide(now, {
        pending: this.pending,
        active: this.ret ? { rank: this.ret.rank, reduced: this.ret.reduced } : undefined,
        safe: this.isSafe(r),
        criticalLatched: this.criticalLatched(),
      });
      this.pending = [];
      if (action.kind === "return") this.startReturn(now, action.cause, action, this.ret?.ids ?? []);
    }

    const dt = this.c.stepMs / 1000;
    if (tiltAxis) {
      const prev = this.sp;
      this.sp = this.ret ? this.stepReturnTilt(now, dt) : this.stepTask(dt);
      const m = this.c.tilt.limitMargin;
      this.sp = guardLimits(prev, this.sp, this.c.tilt.min + m, this.c.tilt.max - m, this.c.tilt.emergencyDecel, dt);
    }
    this.cmdPos += this.sp.v * dt;
    this.stepForce(dt, r);
    if (this.ret && this.returnFinished(r)) this.finishReturn("upright reached");
    return { tiltVel: this.sp.v, force: this.forceSp };
  }

  private trip(t: Trip, now: number): void {
    if (t.code === "MOTOR_STALL") {
      this.stalledTravel += this.cmdPos - this.stallWindowCmd;
      this.stallWindowCmd = this.cmdPos;
    }
    const atUprightStop = this.trust.trusted === "more head-down" || this.mostUpright() <= this.inside(this.c.tilt.upright) + this.c.tilt.tolerance;
    if (t.code === "MOTOR_STALL" && this.ret && this.ret.stage === "running" && this.currentPhase() === "approach" && atUprightStop) {
      // Crawling into the upright end stop (a sensor reading head-down of the truth) reads as a stall: that
      // is the end of travel, not something to push against again.
      this.latch(t.code, `${t.msg}; end of travel during the final approach`);
      this.sp = { p: this.estimate, v: 0 };
      this.ret.idx = this.ret.steps.length;
      this.ret.verified = true;
      return;
    }
    this.latch(t.code, t.msg);
    if (t.code === "MOTOR_STALL") {
      // A confirmed stall is a standstill: braking from the profile's speed instead would let the drive,
      // once free, leap to whatever speed that brake had got down to.
      this.sp = { p: this.estimate, v: 0 };
    }
    if (t.code === "MOTOR_STALL" && this.ret) {
      // Keep trying: a stall may be transient; brake, wait, re-plan at reduced speed.
      this.ret.stage = "braking";
      this.ret.decel = this.c.tilt.emergencyDecel;
      this.ret.reduced = true;
      this.ret.retryAt = now + this.c.motor.stallRetryMs;
      return;
    }
    this.pending.push(t.code);
  }

  private latch(code: FaultCodeName, msg: string): void {
    if (code === "SENSOR_MISMATCH" && this.last) {
      // Every trip is a fresh disagreement (the monitor re-arms only once the sensors agreed again).
      this.trust.newEpisode();
      msg = `${msg}; return trusts ${this.trust.choose(this.last, this.cmdPos)}`;
    }
    this.faults.add(code);
    this.event(code, msg);
  }

  private startReturn(now: number, cause: string, r: { rank: number; reduced: boolean; brake: "emergency" | "normal" }, ids: string[]): void {
    const prev = this.ret;
    if (this.task.kind === "move") this.ack(this.task.id, "failed", `interrupted: ${cause}`);
    if (this.task.kind === "brake" && this.task.id) this.ack(this.task.id, "failed", `interrupted: ${cause}`);
    if (this.forceTask) this.ack(this.forceTask.id, "failed", `interrupted: ${cause}`);
    this.task = { kind: "idle" };
    this.forceTask = undefined;
    const t = this.c.tilt;
    let decel = r.brake === "emergency" ? t.emergencyDecel : t.accelMax;
    if (prev && prev.stage === "braking") decel = Math.max(decel, prev.decel);
    const reduced = r.reduced || (prev?.reduced ?? false);
    this.ret = {
      cause,
      rank: r.rank,
      reduced,
      decel,
      stage: "braking",
      retryAt: cause === "MOTOR_STALL" ? now + this.c.motor.stallRetryMs : undefined,
      steps: [],
      idx: 0,
      verified: false,
      wasHeadDown: prev?.wasHeadDown ?? this.headDown,
      restDone: prev?.restDone ?? false,
      ids: [...ids],
    };
    const speed = hasTilt(this.c) ? `${reduced ? t.reducedSpeed : t.returnSpeed} deg/s` : `${this.c.traction.returnRate} N/s`;
    this.event("RETURN_STARTED", `cause ${cause}; return at ${speed}`);
  }

  private stepTask(dt: number): AxisSetpoint {
    const task = this.task;
    if (task.kind === "move") {
      const vMax = Math.min(task.speed, this.soft.speedMax, this.c.tilt.speedMax);
      const s = stepSegment(this.sp, { target: task.target, vMax, accel: this.c.tilt.accelMax }, dt);
      if (s.arrived) {
        this.task = { kind: "idle" };
        this.ack(task.id, "done");
      }
      return s.sp;
    }
    if (task.kind === "brake") {
      const s = stepBrake(this.sp, task.decel, dt);
      if (s.stopped) {
        this.task = { kind: "idle" };
        if (task.id) this.ack(task.id, "done");
      }
      return s.sp;
    }
    return this.rest();
  }

  private rest(): AxisSetpoint {
    return { p: this.sp.p, v: 0 };
  }

  /**
   * Closes the position loop without touching the velocity: when the filtered difference between the
   * sensors and the setpoint exceeds REBASE_DEG (a short stall, a reboot, a change of trusted sensor),
   * the profile is re-based on where the table really is. Plans then run from the true position, so a
   * lag built up in one direction can never carry the table past a limit in the other. Only at
   * standstill or on a reversal: re-basing during motion on a stuck sensor would chase it and run away.
   */
  private trackPosition(r: PlantReadings): void {
    const err = this.estimate - this.sp.p;
    const errInc = this.trust.inclinometer(r) - this.sp.p;
    if (Math.abs(err - this.errEma) > 1) this.errEma = err;
    else this.errEma += ERR_ALPHA * (err - this.errEma);
    if (Math.abs(errInc - this.incEma) > 1) this.incEma = errInc;
    else this.incEma += ERR_ALPHA * (errInc - this.incEma);
    const still = this.sp.v === 0 || Math.sign(this.sp.v) !== Math.sign(this.prevV);
    this.prevV = this.sp.v;
    // The independent sensor must roughly agree before the setpoint moves: a stuck encoder alone never
    // drags the profile away from where the drive really is. After a mismatch the believed sensor alone
    // decides, at standstill only; but once both sensors agree again on a large error (the believed one
    // was wrong and has recovered) that is the truth, and waiting for standstill would carry the table on
    // toward an end stop.
    const agreeing = Math.abs(this.incEma - this.errEma) < CORROBORATE_DEG;
    const latched = this.faults.has("SENSOR_MISMATCH");
    const allowed = (still && (agreeing || latched)) || (agreeing && Math.abs(this.errEma) > MOVING_REBASE_DEG);
    if (Math.abs(this.errEma) > REBASE_DEG && allowed) {
      const shift = this.errEma;
      this.sp = { p: this.sp.p + shift, v: this.sp.v };
      this.errEma = 0;
      this.incEma -= shift;
      // The return's plan was made from a position that was wrong by this much: stop and plan again.
      if (!still && this.ret?.stage === "running") {
        this.ret.stage = "braking";
        this.ret.decel = this.c.tilt.accelMax;
      }
    }
  }

  private stepReturnTilt(now: number, dt: number): AxisSetpoint {
    const ret = this.ret!;
    if (ret.stage === "braking") {
      const s = stepBrake(this.sp, ret.decel, dt);
      if (!s.stopped) return s.sp;
      ret.stage = "waiting";
      ret.retryAt = Math.max(ret.retryAt ?? 0, now + this.c.tilt.settleMs);
      return s.sp;
    }
    if (ret.stage === "waiting") {
      if (ret.retryAt !== undefined && now < ret.retryAt) return this.rest();
      ret.retryAt = undefined;
      this.sp = this.rest();
      ret.steps = planReturn(this.sp.p, this.returnParams(), { reduced: ret.reduced, rest: ret.wasHeadDown && !ret.restDone });
      ret.idx = 0;
      ret.holdUntil = undefined;
      ret.verifyAt = undefined;
      ret.verified = false;
      ret.stage = "running";
    }
    const step = ret.steps[ret.idx];
    if (!step) {
      // Let the position loop settle, then check the table really is upright (a sensor may have been
      // wrong during the approach); if not, approach again from where it is.
      ret.verifyAt ??= now + VERIFY_MS;
      if (now < ret.verifyAt || ret.verified) return this.rest();
      const target = this.inside(this.c.tilt.upright);
      if (Math.abs(this.sp.p - target) > this.c.tilt.tolerance) {
        ret.steps = planReturn(this.sp.p, this.returnParams(), { reduced: ret.reduced, rest: false });
        ret.idx = 0;
        ret.verifyAt = undefined;
        return this.rest();
      }
      ret.verified = true;
      return this.rest();
    }
    if (step.kind === "hold") {
      ret.holdUntil ??= now + step.ms;
      if (now >= ret.holdUntil) {
        if (step.phase === "rest") ret.restDone = true;
        ret.idx++;
        ret.holdUntil = undefined;
      }
      return { p: this.sp.p, v: 0 };
    }
    const s = stepSegment(this.sp, { target: step.target, vMax: step.vMax, vEnd: step.vEnd, accel: this.c.tilt.accelMax }, dt);
    const capped = this.approachCap(s.sp, dt);
    if (capped) return capped;
    if (s.arrived) ret.idx++;
    return s.sp;
  }

  /**
   * The plan places the approach zone by the believed sensor; a wrong one (biased, drifting) could carry
   * the user into the last degrees faster than the approach speed. So whenever either sensor says the
   * table is near upright, the rise slows as if it were: a speed ceiling that falls to the approach speed
   * at the zone's edge, measured from the most upright credible reading (never slower than braking at the
   * emergency rate allows, so the ceiling is a deceleration, not a jolt).
   */
  private approachCap(next: AxisSetpoint, dt: number): AxisSetpoint | undefined {
    if (next.v >= 0 || !this.last) return undefined;
    const t = this.c.tilt;
    const approach = Math.min(t.approachSpeed, this.soft.speedMax, t.speedMax);
    // Differences within the sensors' agreement band are noise, already covered by the plan.
    const band = this.c.sensors.mismatchDeg / 10;
    const d = this.mostUpright() + band - (this.inside(t.upright) + t.approachZone);
    const ceiling = approachCeiling(d, approach, t.accelMax);
    const limit = Math.max(ceiling, Math.abs(this.sp.v) - t.emergencyDecel * dt);
    if (-next.v <= limit + 1e-9) return undefined;
    return { p: this.sp.p - limit * dt, v: -limit };
  }

  private stepForce(dt: number, r: PlantReadings): void {
    if (!hasTraction(this.c)) return;
    let target = this.forceSp;
    let rate = this.c.traction.rateMax;
    if (this.ret) {
      target = 0;
      rate = this.c.traction.returnRate;
    } else if (this.forceTask) {
      target = this.forceTask.target;
      rate = Math.min(this.forceTask.rate, this.soft.rateMax, this.c.traction.rateMax);
    }
    const d = rate * dt;
    this.forceSp += Math.max(-d, Math.min(d, target - this.forceSp));
    const ft = this.forceTask;
    if (ft && this.forceSp === ft.target && Math.abs(r.loadCell - ft.target) <= this.c.traction.tolerance) {
      this.forceTask = undefined;
      this.ack(ft.id, "done");
    }
  }

  private returnFinished(r: PlantReadings): boolean {
    const ret = this.ret!;
    const tiltDone = !hasTilt(this.c) || (ret.stage === "running" && ret.verified);
    // An outside pull (what OVERFORCE often is) keeps the load cell up after the drive has let go: the
    // release is done once the drive is at zero; the latched fault then waits for the pull to end.
    const released = r.loadCell <= this.c.traction.tolerance || this.faults.has("OVERFORCE");
    const forceDone = !hasTraction(this.c) || (this.forceSp === 0 && released);
    return tiltDone && forceDone;
  }

  private finishReturn(msg: string): void {
    const ret = this.ret!;
    this.ret = undefined;
    this.task = { kind: "idle" };
    this.sp = { p: this.sp.p, v: 0 };
    this.event("RETURN_DONE", `${msg} (cause ${ret.cause})`);
    for (const id of ret.ids) this.ack(id, "done");
  }

  private returnParams(): ReturnParams {
    // Soft limits narrow the return too (PROTOCOL.md 9.1): a user's speedMax below returnSpeed binds it.
    const t = this.c.tilt;
    const vCap = Math.min(this.soft.speedMax, t.speedMax);
    return {
      ...t,
      returnSpeed: Math.min(t.returnSpeed, vCap),
      reducedSpeed: Math.min(t.reducedSpeed, vCap),
      approachSpeed: Math.min(t.approachSpeed, vCap),
      upright: this.inside(t.upright),
    };
  }

  private mostUpright(): number {
    return this.last ? this.trust.mostUpright(this.last, this.bootPos + this.cmdPos - this.stalledTravel) : this.estimate;
  }

  private currentPhase(): ReturnPhase | undefined {
    const ret = this.ret;
    if (!ret) return undefined;
    if (ret.stage !== "running") {
      // Braking and settling before the plan exists: name the phase that comes next.
      if (!hasTilt(this.c)) return "release";
      return planReturn(this.estimate, this.returnParams(), { reduced: ret.reduced, rest: ret.wasHeadDown && !ret.restDone })[0]?.phase ?? "approach";
    }
    return ret.steps[ret.idx]?.phase ?? (ret.verified || !hasTilt(this.c) ? "release" : "approach");
  }

  /** Targets keep a measurement-uncertainty margin inside the hard limits ... */
  private inside(target: number): number {
    const t = this.c.tilt;
    // Trusting the noisier inclinometer, the position is known less well: keep further in.
    const m = this.trust.trusted === "inclinometer" ? Math.max(t.limitMargin, DEGRADED_MARGIN_DEG) : t.limitMargin;
    return Math.min(t.max - m, Math.max(t.min + m, target));
  }

  /** ... and companion moves inside the soft ones too (the firmware's own return ignores soft limits). */
  private insideSoft(target: number): number {
    const m = this.c.tilt.limitMargin;
    return this.inside(Math.min(this.soft.tiltMax - m, Math.max(this.soft.tiltMin + m, target)));
  }

  private nearUpright(): boolean {
    return Math.abs(this.estimate - this.c.tilt.upright) <= Math.max(0.5, this.c.tilt.tolerance);
  }

  private isSafe(r: PlantReadings): boolean {
    const tiltOk = !hasTilt(this.c) || (this.nearUpright() && this.sp.v === 0 && this.task.kind !== "move");
    const forceOk = !hasTraction(this.c) || (this.forceSp <= this.c.traction.tolerance && r.loadCell <= this.c.traction.tolerance);
    return tiltOk && forceOk;
  }

  private criticalLatched(): boolean {
    for (const f of this.faults) if (isCritical(f)) return true;
    return false;
  }

  /** The power-fail interrupt: the supply is going; save what the next boot needs. */
  powerFail(): void {
    this.opts.nvm.forceAtPowerFail = this.forceSp;
  }

  // ---------------------------------------------------------------- protocol out

  private send(m: Outgoing<DeviceMsg>): void {
    this.out(m);
  }

  private ack(id: string, result: AckResultT, reason?: string): void {
    // Cached as sent, so a retried command is answered with the very same ack.
    const sent = reason === undefined ? undefined : fitReason(id, result, reason);
    this.ids.set(id, sent === undefined ? { result } : { result, reason: sent });
    this.send({ type: "ack", id, result, ...(sent === undefined ? {} : { reason: sent }) });
  }

  private event(code: string, msg: string): void {
    const sev = (FAULTS as Record<string, { severity: "info" | "warn" | "fault" | "critical" }>)[code]?.severity ?? "info";
    this.send({ type: "evt", code, severity: sev, msg: msg.slice(0, 200) });
  }

  private sendCaps(): void {
    const c = this.c;
    const t = c.tilt;
    const tr = c.traction;
    this.send({
      type: "caps",
      model: c.model,
      serial: c.serial,
      fw: c.fw,
      proto: PROTO_VERSION,
      axes: {
        ...(hasTilt(c)
          ? { tilt: { min: t.min, max: t.max, upright: t.upright, speedMax: t.speedMax, returnSpeed: t.returnSpeed, accelMax: t.accelMax, approachSpeed: t.approachSpeed } }
          : {}),
        ...(hasTraction(c) ? { traction: { max: tr.max, rateMax: tr.rateMax, returnRate: tr.returnRate } } : {}),
      },
      watchdogMs: c.watchdogMs,
      tlmHz: c.tlmHz,
      boot: this.opts.bootId,
      maxInvertedS: c.maxInvertedS,
      userMaxKg: c.userMaxKg,
      userMaxCm: c.userMaxCm,
    });
  }

  telemetry(now: number, r: PlantReadings): void {
    const tiltAxis = hasTilt(this.c);
    const phase = this.currentPhase();
    this.send({
      type: "tlm",
      t: Math.max(0, Math.round(now - this.opts.now)),
      // A failed sensor can read anything; a value outside the wire range would make the companion drop
      // the whole frame, and with it the fault it reports. Saturated, the sample still arrives.
      tilt: tiltAxis ? clamp(round(r.encoder, 3), -360, 360) : 0,
      tilt2: tiltAxis ? clamp(round(r.inclinometer, 3), -360, 360) : 0,
      vel: tiltAxis ? clamp(round(r.driveVel, 3), -1000, 1000) : 0,
      ...(hasTraction(this.c) ? { force: clamp(round(r.loadCell, 2), -100, 10_000) } : {}),
      current: clamp(round(r.current, 3), -100, 100),
      lock: r.lock,
      sw: r.sw,
      mode: this.mode(),
      faults: [...this.faults],
      // A 32-bit counter on the wire: it wraps rather than leave the field's range.
      rxErr: this.opts.rxErr() >>> 0,
      ...(phase ? { ret: phase } : {}),
    });
  }

  mode(): DeviceModeT {
    if (this.ret) return "returning";
    if (this.task.kind === "brake") return "stopping";
    if (this.task.kind === "move" || this.forceTask) return "moving";
    if (this.criticalLatched()) return "fault";
    if ((hasTilt(this.c) && !this.nearUpright()) || this.forceSp > this.c.traction.tolerance) return "holding";
    return "idle";
  }

  view(): FirmwareView {
    const ret = this.currentPhase();
    return {
      mode: this.mode(),
      faults: [...this.faults],
      ...(ret ? { ret } : {}),
      estimate: this.estimate,
      setpoint: { ...this.sp },
      forceSetpoint: this.forceSp,
    };
  }
}

const ERR_ALPHA = 0.05;
const VERIFY_MS = 500;
const DEGRADED_MARGIN_DEG = 0.3;
/** Well above the filtered encoder noise, below the margin kept inside the hard limits. */
const REBASE_DEG = 0.01;
/** About 2 sigma of the filtered inclinometer: after a re-base it must agree with the new position this well. */
const CORROBORATE_DEG = 0.05;
/** During motion only an error this large (a recovered sensor, not tracking noise) moves the setpoint. */
const MOVING_REBASE_DEG = 0.5;
const BOOT_SAMPLES = 64;

/**
 * The reason within its 200 characters and short enough that the ack fits one line whatever its seq:
 * a reason may name a command id, and an id of characters JSON escapes takes up to 6 bytes a character.
 */
function fitReason(id: string, result: AckResultT, reason: string): string {
  const lineBytes = (r: string): number =>
    Buffer.byteLength(encodeFrame({ v: PROTO_VERSION, seq: SEQ_MODULO - 1, type: "ack", id, result, reason: r }));
  let r = reason.slice(0, 200);
  while (r.length > 0 && lineBytes(r) > MAX_LINE_BYTES) r = r.slice(0, -1);
  return r;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
