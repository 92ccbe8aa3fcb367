// Program -> the ordered actions the session executes one after another (each move/force waits for the
// device's "done"). Pump and traction cycles carry {k, n} so the live view can say "cycle k of n".
// Nothing here sends anything: the session machine clamps every action to the effective limits
// (src/limits/effective.ts) before it goes on the wire, and runs the slow return after the last action.
import type { Program, PumpStepT, StepType, TractionStepT } from "./schema.js";

export interface Cycle {
  k: number;
  n: number;
}
interface ActionBase {
  /** 1-based index of the program step this action belongs to. */
  step: number;
  /** The type of that step, so messages can say "step 2 (pump)". Always set by compileProgram. */
  stepType?: StepType;
  label: string;
  cycle?: Cycle;
}
export type MoveAction = ActionBase & { kind: "move"; target: number; speed: number };
export type ForceAction = ActionBase & { kind: "force"; target: number; rate: number };
export type DwellAction = ActionBase & { kind: "dwell"; seconds: number };
export type Action = MoveAction | ForceAction | DwellAction;

const deg = (a: number) => `${round1(a)}°`;
const newtons = (f: number) => `${round1(f)} N`;
function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Compiles a validated program. The implicit final return is not an action (see schema.ts). */
export function compileProgram(p: Program): Action[] {
  const out: Action[] = [];
  // Last commanded tilt; undefined until the program first moves the table (the start position belongs
  // to the session, not to the program).
  let tilt: number | undefined;
  let force = 0;

  p.steps.forEach((s, i) => {
    const base = { step: i + 1, stepType: s.type };
    const name = (fallback: string) => s.label ?? fallback;
    const move = (target: number, speed: number, label: string, cycle?: Cycle) => {
      if (tilt === target) return;
      out.push({ ...base, kind: "move", target, speed, label, ...(cycle ? { cycle } : {}) });
      tilt = target;
    };
    const pull = (target: number, rate: number, label: string, cycle?: Cycle) => {
      if (force === target) return;
      out.push({ ...base, kind: "force", target, rate, label, ...(cycle ? { cycle } : {}) });
      force = target;
    };
    const wait = (seconds: number, label: string, cycle?: Cycle) => {
      if (seconds > 0) out.push({ ...base, kind: "dwell", seconds, label, ...(cycle ? { cycle } : {}) });
    };

    switch (s.type) {
      case "ramp":
        move(s.to, s.speed, name(`ramp to ${deg(s.to)}`));
        break;
      case "hold":
        wait(s.seconds, name(`hold ${s.seconds} s`));
        break;
      case "pump":
        compilePump(s, name(`pump ${deg(s.from)}–${deg(s.to)}`), move, wait);
        break;
      case "traction":
        compileTraction(s, name(`traction ${newtons(s.target)}`), pull, wait);
        break;
      case "rest": {
        // On a stretcher-only program there is no table to move: a rest is then only a pause.
        const at = s.angle ?? (tilt === undefined ? undefined : 0);
        const what = name(at === undefined ? `rest ${s.seconds} s` : `rest at ${deg(at)}`);
        if (at !== undefined) move(at, s.speed, `${what}: move`);
        wait(s.seconds, what);
        break;
      }
      case "return":
        break;
      default:
        assertNever(s);
    }
  });
  return out;
}

type Mover = (target: number, speed: number, label: string, cycle?: Cycle) => void;
type Waiter = (seconds: number, label: string, cycle?: Cycle) => void;

function compilePump(s: PumpStepT, what: string, move: Mover, wait: Waiter): void {
  const dwellAt = (a: number) => (a === Math.max(s.from, s.to) ? s.dwellHigh ?? s.dwell : s.dwellLow ?? s.dwell);
  move(s.from, s.speed, `${what}: to start`);
  for (let k = 1; k <= s.cycles; k++) {
    const cycle = { k, n: s.cycles };
    move(s.to, s.speed, `${what}: to ${deg(s.to)}`, cycle);
    wait(dwellAt(s.to), `${what}: dwell at ${deg(s.to)}`, cycle);
    move(s.from, s.speed, `${what}: back to ${deg(s.from)}`, cycle);
    wait(dwellAt(s.from), `${what}: dwell at ${deg(s.from)}`, cycle);
  }
}

/** Force of the rest phase: restPct of the target (Triton's 50% by default), to 0.1 N. */
export function restForce(s: Pick<TractionStepT, "target" | "restPct">): number {
  return round1((s.target * s.restPct) / 100);
}

type Puller = (target: number, rate: number, label: string, cycle?: Cycle) => void;

function compileTraction(s: TractionStepT, what: string, pull: Puller, wait: Waiter): void {
  const prog = s.progression;
  const stepHold = prog?.stepHoldS ?? s.holdS;
  const up = prog && (prog.mode === "progressive" || prog.mode === "both");
  const down = prog && (prog.mode === "regressive" || prog.mode === "both");
  if (prog && up) {
    // n equal steps up to the target: steps 1..n-1 here, the n-th is the first cycle's pull.
    for (let i = 1; i < prog.steps; i++) {
      const level = round1((s.target * i) / prog.steps);
      pull(level, s.rate, `${what}: step ${i}/${prog.steps} to ${newtons(level)}`);
      wait(stepHold, `${what}: step ${i}/${prog.steps} hold`);
    }
  }
  const rest = restForce(s);
  for (let k = 1; k <= s.cycles; k++) {
    const cycle = { k, n: s.cycles };
    pull(s.target, s.rate, `${what}: pull to ${newtons(s.target)}`, cycle);
    wait(s.holdS, `${what}: hold`, cycle);
    // With a regressive end, the last cycle's rest gives way to the descent in steps.
    if (k === s.cycles && down) break;
    pull(rest, s.rate, `${what}: rest at ${newtons(rest)}`, cycle);
    wait(s.restS, `${what}: rest`, cycle);
  }
  if (prog && down) {
    for (let i = prog.steps - 1; i >= 1; i--) {
      const level = round1((s.target * i) / prog.steps);
      const n = prog.steps - i;
      pull(level, s.rate, `${what}: down ${n}/${prog.steps - 1} to ${newtons(level)}`);
      wait(stepHold, `${what}: down ${n}/${prog.steps - 1} hold`);
    }
  }
  // Triton: at the end tension decreases gradually, never a drop.
  pull(0, s.rate, `${what}: release`);
}

function assertNever(x: never): never {
  throw new Error(`unknown step ${JSON.stringify(x)}`);
}

/** Which axes a program uses, so preflight can check the device has them (and the ankle lock). */
export function axesUsed(actions: readonly Action[]): { tilt: boolean; traction: boolean; headDown: boolean } {
  return {
    tilt: actions.some((a) => a.kind === "move"),
    traction: actions.some((a) => a.kind === "force"),
    headDown: actions.some((a) => a.kind === "move" && a.target > 0),
  };
}

