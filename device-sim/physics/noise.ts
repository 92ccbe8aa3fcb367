// Seeded noise so every simulated run replays exactly from its seed.
import { mulberry32, type Rng } from "../../protocol/index.js";

export { mulberry32, type Rng };

/** Standard normal sample (Box-Muller) from a uniform PRNG. */
export function gaussian(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
