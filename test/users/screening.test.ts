import fc from "fast-check";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { CONTRAINDICATIONS, askScreening, checkConditions, conditionsFromFlags, screeningStatus } from "../../src/users/screening.js";
import type { ScreeningRecord } from "../../src/store/index.js";

const DAY = 86_400_000;

describe("contraindication list", () => {
  it("covers every condition of the domain brief with unique ids and a question", () => {
    const ids = CONTRAINDICATIONS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ["glaucoma", "retinal-detachment", "conjunctivitis", "hypertension", "heart-disease", "stroke", "anticoagulants", "osteoporosis",
      "spine-fracture-implant", "hernia", "ear-infection", "extreme-obesity", "pregnancy", "spinal-surgery", "leg-weakness", "recent-injury"]) {
      expect(ids).toContain(id);
    }
    // Every condition rules out head-down; the spinal and abdominal ones rule out traction too.
    expect(CONTRAINDICATIONS.every((c) => c.blocksHeadDown && c.question.endsWith("?"))).toBe(true);
    const traction = CONTRAINDICATIONS.filter((c) => c.blocksTraction).map((c) => c.id).sort();
    expect(traction).toEqual(["hernia", "osteoporosis", "pregnancy", "recent-injury", "spinal-surgery", "spine-fracture-implant"]);
  });
});

describe("answers from flags", () => {
  it("reads none, a list (case-insensitive, deduplicated), or nothing given", () => {
    expect(conditionsFromFlags({ none: true })).toEqual([]);
    expect(conditionsFromFlags({ names: ["Glaucoma", "pregnancy", "glaucoma"] })).toEqual(["glaucoma", "pregnancy"]);
    expect(conditionsFromFlags({})).toBeUndefined();
  });

  it("refuses an unknown name listing the valid ones, and contradictory flags", () => {
    expect(() => conditionsFromFlags({ names: ["flu"] })).toThrow(/--contraindication: unknown "flu" \(valid: glaucoma, .*pregnancy/);
    expect(() => conditionsFromFlags({ none: true, names: ["glaucoma"] })).toThrow(/contradict/);
  });
});

describe("screening validity", () => {
  const rec = (answeredAt: string, conditions: string[] = []): ScreeningRecord => ({ id: 1, profileId: 1, answeredAt, conditions, method: "flags" });
  const at = "2026-01-01T00:00:00.000Z";

  it("is required before the first session", () => {
    const s = screeningStatus("ann", undefined, new Date(at));
    expect(s).toMatchObject({ ok: false, reason: "missing" });
    if (!s.ok) expect(s.message).toContain("invert profile screen ann");
  });

  it("asks again, never reads as 'none declared', when the stored answers cannot be read", () => {
    const now = new Date(Date.parse(at) + DAY);
    for (const damaged of [{ ...rec(at), damaged: true }, rec("garbage")]) {
      let s: ReturnType<typeof screeningStatus> | undefined;
      expect(() => (s = screeningStatus("ann", damaged, now))).not.toThrow();
      expect(s).toMatchObject({ ok: false, reason: "damaged" });
      if (s && !s.ok) expect(s.message).toMatch(/^profile "ann" screening answers cannot be read .*; answer it again with `invert profile screen ann`$/);
    }
  });

  it("is valid for 90 days, then asked again", () => {
    expect(screeningStatus("ann", rec(at), new Date(Date.parse(at) + 90 * DAY - 1)).ok).toBe(true);
    const s = screeningStatus("ann", rec(at), new Date(Date.parse(at) + 90 * DAY));
    expect(s).toMatchObject({ ok: false, reason: "expired" });
    if (!s.ok) expect(s.message).toContain("older than 90 days");
  });
});

describe("programs a condition rules out", () => {
  it("blocks head-down for any condition and keeps traction for the ones that allow it", () => {
    for (const c of CONTRAINDICATIONS) {
      const head = checkConditions("ann", [c.id], { headDown: true, traction: false });
      expect(head.ok).toBe(false);
      if (!head.ok) expect(head.message).toContain(c.id);
      expect(checkConditions("ann", [c.id], { headDown: false, traction: true }).ok).toBe(!c.blocksTraction);
    }
    expect(checkConditions("ann", [], { headDown: true, traction: true }).ok).toBe(true);
    // A condition id the code no longer knows blocks everything rather than nothing.
    expect(checkConditions("ann", ["retired-id"], { headDown: false, traction: true }).ok).toBe(false);
  });
});

describe("any combination of conditions", () => {
  it("allows head-down only with none declared, and traction only without a traction-blocking one", () => {
    fc.assert(
      fc.property(fc.subarray(CONTRAINDICATIONS.map((c) => c.id)), fc.boolean(), fc.boolean(), (ids, headDown, traction) => {
        const r = checkConditions("ann", ids, { headDown, traction });
        const blocksTraction = ids.some((id) => CONTRAINDICATIONS.find((c) => c.id === id)?.blocksTraction);
        const expected = !(headDown && ids.length > 0) && !(traction && blocksTraction);
        expect(r.ok).toBe(expected);
      }),
    );
  });
});

describe("interactive screening", () => {
  it("asks each question, repeats on an unclear answer, and returns the yes answers", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = "";
    output.on("data", (d: Buffer) => (shown += d.toString()));
    const answers = CONTRAINDICATIONS.map((c) => (c.id === "glaucoma" ? "maybe\ny" : c.id === "hernia" ? "YES" : "n"));
    input.end(answers.join("\n") + "\n");
    const got = await askScreening({ input, output });
    expect(got).toEqual(["glaucoma", "hernia"]);
    expect(shown).toContain("Please answer y or n.");
    for (const c of CONTRAINDICATIONS) expect(shown).toContain(c.question);
  });

  it("saves nothing when input ends early", async () => {
    const input = new PassThrough();
    input.end("n\nn\n");
    await expect(askScreening({ input, output: new PassThrough() })).rejects.toThrow(/interrupted/);
  });
});
