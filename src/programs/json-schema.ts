// JSON Schema of program files, for editors (YAML language servers, JSON editors) to complete and check
// fields while a user writes a program. programs/program.schema.json is this output; a test keeps the
// two equal. Regenerate with: npx tsx src/programs/json-schema.ts > programs/program.schema.json
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { ProgramSchema } from "./schema.js";

export function programJsonSchema(): Record<string, unknown> {
  // "input": what a file may contain (fields with defaults are optional there).
  return z.toJSONSchema(ProgramSchema, { io: "input", target: "draft-07" }) as Record<string, unknown>;
}

export function programJsonSchemaText(): string {
  return `${JSON.stringify(programJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(programJsonSchemaText());
}
