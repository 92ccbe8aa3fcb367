// Open safety findings of the reliability campaign, each a combination of several injected faults that
// the firmware simulator's return does not yet handle within the invariants. They are listed (not
// hidden): the campaign slice in `npm test` prints them on every run and fails on any violation NOT in
// this list, and `npm run campaign` still counts them as violations. Remove an entry when it is fixed.
// Replay one with `npm run campaign -- --replay <seed>`.
export interface KnownViolation {
  seed: number;
  /** Which invariant it breaks, matched against the violation message. */
  match: RegExp;
  finding: string;
}

export const KNOWN_VIOLATIONS: readonly KnownViolation[] = [
  { seed: 224538304, match: /in the last 10 deg/, finding: "with a faulty angle sensor the return's rise runs into the approach zone at 1.1 deg/s (approach zone located from the trusted sensor, not the most upright reading)" },
  { seed: 3263277889, match: /in the last 10 deg/, finding: "same as 224538304" },
  { seed: 1126763760, match: /not upright/, finding: "power loss plus sensor mismatch: the return stops at -70 deg instead of upright" },
  { seed: 1437985892, match: /did not settle/, finding: "biased sensor: the return's final approach crawls on at the end stop (reported -83 deg)" },
  { seed: 1785321396, match: /speed .* over/, finding: "after a power loss the firmware forgot the soft speed limit and returns slightly above it (2.5 vs 2.4 deg/s)" },
  { seed: 3727847759, match: /speed .* over/, finding: "same as 1785321396 (2.9 vs 2.8 deg/s)" },
];

export function isKnown(seed: number, message: string): KnownViolation | undefined {
  return KNOWN_VIOLATIONS.find((k) => k.seed === seed && k.match.test(message));
}
