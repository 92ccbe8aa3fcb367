// Program lookup for requests: a built-in name, or an inline program object validated by the schema.
import { builtinNames, getBuiltin } from "../programs/library.js";
import { parseProgram, type Program } from "../programs/schema.js";

/** Throws one line naming the problem (unknown name, or the step, field and reason of a bad program). */
export function resolveProgram(spec: unknown): Program {
  if (typeof spec === "string") {
    const p = getBuiltin(spec);
    if (!p) throw new Error(`program: unknown program "${spec}" (built-in: ${builtinNames().join(", ")})`);
    return p;
  }
  return parseProgram(spec, "program");
}
