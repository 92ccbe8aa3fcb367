// The built-in programs. Each one cites where its shape comes from in DOMAIN.md (the project's
// domain brief): sections 2 (session guidance) and 3 (clinical traction programs). Every program ends
// with an explicit `return` step for readability; the slow return runs anyway (see schema.ts).
// Each table program stays well under the firmware's 900 s cap on time inverted (design default).
import { parseProgram, type Program, type ProgramInput } from "./schema.js";

const DEFINITIONS: ProgramInput[] = [
  {
    name: "beginner",
    description: "A first session: tilt slowly to 20° past horizontal, hold 90 s, come back slowly.",
    source:
      "DOMAIN.md §2: beginners start at 20-30° (Teeter FAQ; Lifegear's manual says 15-20°), " +
      "sessions of 1-2 min for the first 1-2 weeks (Teeter blog, 'the 3 hows of inverting').",
    limits: { tiltMax: 30, speedMax: 5 },
    steps: [
      { type: "ramp", to: 20, speed: 4 },
      { type: "hold", seconds: 90 },
      { type: "return" },
    ],
  },
  {
    name: "gentle-oscillation",
    description: "Rock gently between horizontal and 45°, resting briefly at each end: a pumping stretch.",
    source:
      "DOMAIN.md §2: Teeter's oscillation, rocking 'from approximately horizontal to 45-60 degrees and back' " +
      "for a 'pumping action'; 'pump where possible' (seed article, Back In Shape); 3-5 min at a time.",
    limits: { tiltMax: 45, speedMax: 6 },
    steps: [
      { type: "ramp", to: 0, speed: 5 },
      { type: "pump", from: 0, to: 45, cycles: 6, dwellHigh: 10, dwellLow: 5, speed: 5 },
      { type: "return" },
    ],
  },
  {
    name: "oscillation",
    description: "Oscillation between horizontal and 60°, for users used to 45°.",
    source:
      "DOMAIN.md §2: Teeter's oscillation, 'from approximately horizontal to 45-60 degrees and back'; " +
      "60° is roughly a pull of 60% of body weight (Teeter FAQ).",
    limits: { tiltMax: 60, speedMax: 8 },
    steps: [
      { type: "ramp", to: 0, speed: 5 },
      { type: "pump", from: 0, to: 60, cycles: 6, dwellHigh: 10, dwellLow: 5, speed: 8 },
      { type: "return" },
    ],
  },
  {
    name: "intermittent-inversion",
    description: "Hold 40° for 45 s, come back toward horizontal (10°) for 20 s, four times.",
    source:
      "DOMAIN.md §2: Teeter's intermittent inversion, 'hold an angle, come back toward horizontal, repeat'; " +
      "short and frequent beats long, 3-5 min at a time (seed article); partial holds of 1-2 min (Lifegear).",
    limits: { tiltMax: 40, speedMax: 5 },
    steps: [
      { type: "ramp", to: 10, speed: 4 },
      { type: "pump", label: "intermittent", from: 10, to: 40, cycles: 4, dwellHigh: 45, dwellLow: 20, speed: 5 },
      { type: "return" },
    ],
  },
  {
    name: "intermittent-traction",
    description:
      "Back stretcher: climb to 250 N in 4 steps, then 8 cycles of 30 s at 250 N and 15 s at 50% (125 N); release gradually.",
    source:
      "DOMAIN.md §3: Chattanooga Triton DTS intermittent mode with progressive steps, rest force 50% of target; " +
      "end of treatment releases gradually. Force: start at 25-35% of body weight (practitioner opinion, " +
      "250 N is about 32% of 80 kg) below Saunders' 40-50%.",
    limits: { forceMax: 300, rateMax: 20 },
    steps: [
      {
        type: "traction",
        target: 250,
        restPct: 50,
        holdS: 30,
        restS: 15,
        cycles: 8,
        rate: 15,
        progression: { mode: "progressive", steps: 4, stepHoldS: 20 },
      },
      { type: "return" },
    ],
  },
  {
    name: "combo",
    description: "Table and harness together: tilt to 20°, then 4 gentle traction cycles at 150 N (rest 75 N), release, return.",
    source:
      "DOMAIN.md §1 (a table with a traction harness), §2 (beginner angle 20-30°, 3-5 min), " +
      "§3 (Triton intermittent traction, progressive steps, rest force 50% of target).",
    limits: { tiltMax: 20, speedMax: 5, forceMax: 200, rateMax: 15 },
    steps: [
      { type: "ramp", to: 20, speed: 4 },
      {
        type: "traction",
        target: 150,
        holdS: 30,
        restS: 15,
        cycles: 4,
        rate: 10,
        progression: { mode: "progressive", steps: 3, stepHoldS: 15 },
      },
      { type: "return" },
    ],
  },
];

/** Built-in programs by name, validated when this module loads (a broken built-in fails at once). */
export const BUILTIN_PROGRAMS: Readonly<Record<string, Program>> = Object.freeze(
  Object.fromEntries(DEFINITIONS.map((d) => [d.name, parseProgram(d, "builtin")])),
);

export function getBuiltin(name: string): Program | undefined {
  return Object.prototype.hasOwnProperty.call(BUILTIN_PROGRAMS, name) ? BUILTIN_PROGRAMS[name] : undefined;
}

export function builtinNames(): string[] {
  return Object.keys(BUILTIN_PROGRAMS);
}
