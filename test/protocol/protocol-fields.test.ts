// Section 7 of PROTOCOL.md is what a firmware engineer validates frames against, so every field of every
// message must be there with the optionality, type and range the schemas enforce: a field the document
// leaves open is one the firmware and the companion can disagree about (a frame one side answers and the
// other drops as `schema`).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMPANION_TYPES, DEVICE_TYPES, type MsgType } from "../../protocol/index.js";
import { REPO_ROOT, messageSchema } from "../../protocol/gen/generate.js";

const DOC = readFileSync(join(REPO_ROOT, "protocol/PROTOCOL.md"), "utf8");
const SECTION = /^## 7\. Messages\n([\s\S]*?)^## 8\./m.exec(DOC)?.[1] ?? "";
const HEADER = new Set(["v", "seq", "type"]);
/** Integers beyond this are not exact in a JSON number: the schemas' integer bound, implied for every integer. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

interface JsonSchema {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

/** What a field allows, in one comparable shape for the document and for the schema. */
interface Spec {
  optional: boolean;
  type: string;
  bounds: Record<string, unknown>;
}

function bounds(s: JsonSchema): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  for (const k of ["const", "enum", "pattern", "minimum", "maximum", "exclusiveMinimum", "minLength", "maxLength", "minItems", "maxItems"] as const) {
    if (s[k] !== undefined) b[k] = s[k];
  }
  if (s.type === "integer" && b.maximum === MAX_SAFE) delete b.maximum;
  if (s.items) for (const [k, v] of Object.entries(bounds(s.items))) b[`items.${k}`] = v;
  return b;
}

function typeName(s: JsonSchema): string {
  if (s.type === "array") return `${s.items?.type ?? "?"}[]`;
  return s.type ?? "?";
}

/** Every non-header field of a message schema, nested objects flattened to dotted names. */
function schemaFields(type: MsgType): Map<string, Spec> {
  const out = new Map<string, Spec>();
  const walk = (obj: JsonSchema, prefix: string): void => {
    for (const [name, s] of Object.entries(obj.properties ?? {})) {
      if (!prefix && HEADER.has(name)) continue;
      const path = prefix + name;
      out.set(path, { optional: !(obj.required ?? []).includes(name), type: typeName(s), bounds: bounds(s) });
      if (s.type === "object") walk(s, `${path}.`);
    }
  };
  walk(messageSchema(type) as JsonSchema, "");
  return out;
}

const num = (t: string): number => Number(t.replace("−", "-"));

/** Reads a range cell the way section 7 writes them ("1 … 40", "> 0 … 90 °/s", "≤ 64", enums, patterns). */
function parseRange(type: string, cell: string): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  const ticks = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  const isArray = type.endsWith("[]");
  let text = cell;
  if (isArray) {
    const each = /^(.*?)(?:,\s*each\s+(.*))?$/.exec(cell)!;
    text = each[1];
    if (each[2] !== undefined) for (const [k, v] of Object.entries(parseRange(type.slice(0, -2), each[2]))) b[`items.${k}`] = v;
    const r = /^(\d+) … (\d+)/.exec(text);
    const le = /^≤ (\d+)/.exec(text);
    if (r) Object.assign(b, { minItems: num(r[1]), maxItems: num(r[2]) });
    if (le) b.maxItems = num(le[1]);
    return b;
  }
  if (ticks.length === 1 && ticks[0].startsWith("^")) return { pattern: ticks[0] };
  if (ticks.length > 0) return { enum: ticks };
  const [lo, hi] = type === "string" ? ["minLength", "maxLength"] : ["minimum", "maximum"];
  let m: RegExpExecArray | null;
  if ((m = /^> (−?[\d.]+) … (−?[\d.]+)/.exec(text))) Object.assign(b, { exclusiveMinimum: num(m[1]), [hi]: num(m[2]) });
  else if ((m = /^(−?[\d.]+) … (−?[\d.]+)/.exec(text))) Object.assign(b, { [lo]: num(m[1]), [hi]: num(m[2]) });
  else if ((m = /^> (−?[\d.]+)/.exec(text))) b.exclusiveMinimum = num(m[1]);
  else if ((m = /^≥ (−?[\d.]+)/.exec(text))) b[lo] = num(m[1]);
  else if ((m = /^≤ (−?[\d.]+)/.exec(text))) b[hi] = num(m[1]);
  return b;
}

/** The fields section 7 documents for a message: table rows, or an inline `{a, b}` after its name. */
function docFields(type: MsgType, commandId: Spec | undefined): Map<string, Spec> {
  const out = new Map<string, Spec>();
  const start = SECTION.search(new RegExp(`^\\*\\*\`${type}\`\\*\\*`, "m"));
  expect(start, `section 7 describes \`${type}\``).toBeGreaterThanOrEqual(0);
  const rest = SECTION.slice(start);
  const next = rest.slice(1).search(/^\*\*`[a-z]+`\*\*/m);
  const part = next < 0 ? rest : rest.slice(0, next + 1);
  const inline = /^\*\*`[a-z]+`\*\* `\{([^}]*)\}`/.exec(part);
  if (inline && commandId) {
    // Inline fields are command ids (section 6.1), defined once in the tables of the other commands.
    for (const name of inline[1].split(",").map((s) => s.trim())) if (name === "id") out.set(name, commandId);
  }
  for (const row of part.matchAll(/^\| `([^`]+)`(?: \/ `([^`]+)`)?( opt\.)? \|([^|]*)\|([^|]*)\|/gm)) {
    const [, first, second, opt, typeCell, rangeCell] = row;
    const names = [first];
    if (second) names.push(second.startsWith(".") ? first.replace(/\.[^.]+$/, second) : second);
    const typeText = typeCell.trim();
    const constant = /^`"(.*)"`$/.exec(typeText);
    const spec: Spec = constant
      ? { optional: !!opt, type: "string", bounds: { const: constant[1] } }
      : { optional: !!opt, type: typeText, bounds: parseRange(typeText, rangeCell.trim()) };
    for (const n of names) out.set(n, spec);
  }
  if (inline) for (const name of inline[1].split(",").map((s) => s.trim())) expect(out.has(name), `\`${type}\` field \`${name}\` has a definition`).toBe(true);
  return out;
}

describe("PROTOCOL.md section 7 against the message schemas", () => {
  const commandId = docFields("move", undefined).get("id");

  for (const type of [...COMPANION_TYPES, ...DEVICE_TYPES]) {
    it(`\`${type}\`: every field documented with its optionality, type and range`, () => {
      const doc = Object.fromEntries(docFields(type, commandId));
      const code = Object.fromEntries(schemaFields(type));
      expect(doc).toEqual(code);
    });
  }
});
