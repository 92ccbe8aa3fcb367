// Contraindication screening (DOMAIN.md section 5). Per condition we decide whether it rules out
// head-down positions (raised blood, eye or intracranial pressure; load on ankles and legs) and whether
// it also rules out traction (mechanical stress on the spine, or a harness pulling across the abdomen).
import { createInterface } from "node:readline/promises";
import type { ScreeningRecord } from "../store/index.js";
import { UserError } from "./errors.js";

export interface Contraindication {
  id: string;
  question: string;
  blocksHeadDown: boolean;
  blocksTraction: boolean;
  /** Why traction is or is not also ruled out (shown by `profile show`, documented). */
  why: string;
}

const headDownOnly = (id: string, question: string, why: string): Contraindication => ({ id, question, blocksHeadDown: true, blocksTraction: false, why });
const both = (id: string, question: string, why: string): Contraindication => ({ id, question, blocksHeadDown: true, blocksTraction: true, why });

export const CONTRAINDICATIONS: readonly Contraindication[] = [
  headDownOnly("glaucoma", "Do you have glaucoma?", "head-down raises eye pressure; lying traction does not"),
  headDownOnly("retinal-detachment", "Have you had a retinal detachment?", "head-down raises eye pressure"),
  headDownOnly("conjunctivitis", "Do you currently have conjunctivitis?", "head-down raises eye pressure"),
  headDownOnly("hypertension", "Is your blood pressure over 140/90, or treated for hypertension?", "head-down raises blood pressure"),
  headDownOnly("heart-disease", "Do you have a heart or circulatory disease?", "head-down loads the circulation"),
  headDownOnly("stroke", "Have you had a stroke or a TIA (mini-stroke)?", "head-down raises intracranial pressure"),
  headDownOnly("anticoagulants", "Do you take anticoagulants (blood thinners)?", "head-down raises pressure in head vessels"),
  headDownOnly("ear-infection", "Do you have a middle-ear infection?", "head-down raises pressure in the ear"),
  headDownOnly("extreme-obesity", "Are you extremely obese (BMI 40 or more)?", "head-down loads heart, lungs and ankles"),
  headDownOnly("leg-weakness", "Do you have weakness in your legs or ankles?", "head-down hangs the body from the ankles"),
  both("osteoporosis", "Do you have osteoporosis (including of the spine)?", "traction stresses weakened vertebrae too"),
  both("spine-fracture-implant", "Do you have a fracture or surgical implant in your spine or legs?", "traction pulls on the fracture or implant too"),
  both("spinal-surgery", "Have you had spinal surgery?", "traction needs clearance after spinal surgery"),
  both("hernia", "Do you have a hiatal or ventral hernia?", "a traction harness presses on the abdomen too"),
  both("pregnancy", "Are you pregnant?", "a traction harness presses on the abdomen too"),
  both("recent-injury", "Have you been injured in a fall or accident and not yet been cleared by a clinician?", "needs clearance for any spinal loading"),
];

export const SCREENING_VALID_DAYS = 90;
const DAY_MS = 86_400_000;

export function contraindication(id: string): Contraindication | undefined {
  return CONTRAINDICATIONS.find((c) => c.id === id);
}

/**
 * Screening answers from flags: `--no-contraindications` or one `--contraindication NAME` per condition.
 * Returns undefined when neither was given (the caller then asks interactively or refuses).
 */
export function conditionsFromFlags(opts: { none?: boolean; names?: readonly string[] }): string[] | undefined {
  const names = opts.names ?? [];
  if (opts.none && names.length) throw new UserError("--no-contraindications and --contraindication contradict each other; give one or the other");
  if (opts.none) return [];
  if (!names.length) return undefined;
  const out: string[] = [];
  for (const raw of names) {
    const id = raw.trim().toLowerCase();
    if (!contraindication(id)) {
      throw new UserError(`--contraindication: unknown "${raw}" (valid: ${CONTRAINDICATIONS.map((c) => c.id).join(", ")})`);
    }
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

export type ScreeningStatus =
  | { ok: true; conditions: string[]; answeredAt: string; expiresAt: string }
  | { ok: false; reason: "missing" | "expired" | "damaged"; message: string };

export function screeningStatus(profileName: string, s: ScreeningRecord | undefined, now: Date, validDays = SCREENING_VALID_DAYS): ScreeningStatus {
  const command = `\`invert profile screen ${profileName}\``;
  const how = `answer it with ${command}`;
  if (!s) return { ok: false, reason: "missing", message: `profile "${profileName}" has no contraindication screening yet; ${how}` };
  const answeredMs = Date.parse(s.answeredAt);
  // Answers that cannot be read could hide a condition; a date that cannot be read gives no expiry.
  if (s.damaged === true || !Number.isFinite(answeredMs)) {
    return { ok: false, reason: "damaged", message: `profile "${profileName}" screening answers cannot be read (damaged record); answer it again with ${command}` };
  }
  const expires = new Date(answeredMs + validDays * DAY_MS);
  if (now.getTime() >= expires.getTime()) {
    return {
      ok: false,
      reason: "expired",
      message: `profile "${profileName}" screening of ${s.answeredAt.slice(0, 10)} is older than ${validDays} days; ${how}`,
    };
  }
  return { ok: true, conditions: s.conditions, answeredAt: s.answeredAt, expiresAt: expires.toISOString() };
}

export interface ProgramNeeds {
  headDown: boolean;
  traction: boolean;
}

/** Refuses a program a declared condition rules out, naming the condition. */
export function checkConditions(profileName: string, conditions: readonly string[], needs: ProgramNeeds): { ok: true } | { ok: false; message: string } {
  for (const id of conditions) {
    const c = contraindication(id);
    // An id from an older list that is no longer known is treated as blocking everything: safer.
    const blocksHead = c ? c.blocksHeadDown : true;
    const blocksTraction = c ? c.blocksTraction : true;
    if (needs.headDown && blocksHead) {
      return { ok: false, message: `profile "${profileName}" declared ${id}: head-down programs are refused (traction-only programs ${blocksTraction ? "too" : "remain possible"})` };
    }
    if (needs.traction && blocksTraction) {
      return { ok: false, message: `profile "${profileName}" declared ${id}: traction programs are refused (${c?.why ?? "unknown condition"})` };
    }
  }
  return { ok: true };
}

export interface PromptIO {
  input: NodeJS.ReadableStream;
  output: { write(text: string): unknown };
}

/** Asks every question (y/n); an unclear answer is asked again. */
export async function askScreening(io: PromptIO): Promise<string[]> {
  const rl = createInterface({ input: io.input, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  const out: string[] = [];
  try {
    io.output.write("Contraindication screening: answer y (yes) or n (no). If unsure, answer y and ask a clinician.\n");
    for (const c of CONTRAINDICATIONS) {
      for (;;) {
        io.output.write(`${c.question} [y/n] `);
        const next = await lines.next();
        if (next.done) throw new UserError("screening interrupted before all questions were answered; nothing was saved");
        const a = String(next.value).trim().toLowerCase();
        if (a === "y" || a === "yes") {
          out.push(c.id);
          break;
        }
        if (a === "n" || a === "no") break;
        io.output.write("Please answer y or n.\n");
      }
    }
  } finally {
    rl.close();
  }
  return out;
}
