// Motor current of the tilt drive: electronics idle draw, a speed term, and a load term that grows with
// the user's weight and with how far the user's weight sits off the pivot (largest near horizontal).
// A stalled rotor draws its stall current; injected overcurrent adds on top.

export interface CurrentInputs {
  weightKg: number;
  angleDeg: number;
  vel: number;
  moving: boolean;
  stalled: boolean;
  stallCurrentA: number;
  extraA: number;
}

const IDLE_A = 0.3;
const PER_DEG_S_A = 0.15;
const PER_KG_A = 0.02;

export function motorCurrent(i: CurrentInputs): number {
  const load = i.weightKg * PER_KG_A * (0.3 + 0.7 * Math.abs(Math.cos((i.angleDeg * Math.PI) / 180)));
  let a = IDLE_A;
  if (i.stalled && i.moving) a += i.stallCurrentA + load;
  else if (Math.abs(i.vel) > 1e-6) a += Math.abs(i.vel) * PER_DEG_S_A + load;
  return a + i.extraA;
}
