// The README stays true: the Quick start is the two commands, the program shown is the example file,
// the exit code table is the one the code uses, and every relative link resolves.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { EXIT } from "../../src/cli/exit-codes.js";
import { parseProgram } from "../../src/programs/schema.js";
import { REPO } from "./invert-process.js";

const readme = readFileSync(join(REPO, "README.md"), "utf8");

function section(title: string): string {
  const start = readme.indexOf(`## ${title}`);
  expect(start, title).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf("\n## ", start + 3);
  return readme.slice(start, end < 0 ? undefined : end);
}

const blocks = (text: string, lang: string) => [...text.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]);

describe("README", () => {
  it("Quick start is exactly two commands", () => {
    expect(blocks(section("Quick start, two commands"), "sh")[0]).toBe("npm install && npx invert run --speed 50\nnpm test\n");
  });

  it("the program shown is programs/examples/my-first-program.yaml", () => {
    const shown = blocks(section("Writing your own program"), "yaml");
    expect(shown).toHaveLength(1);
    const file = readFileSync(join(REPO, "programs/examples/my-first-program.yaml"), "utf8");
    expect(parseProgram(parse(shown[0]))).toEqual(parseProgram(parse(file)));
  });

  it("the exit code table matches src/cli/exit-codes.ts", () => {
    const rows = [...section("Exit codes").matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(rows.sort((a, b) => a - b)).toEqual([...new Set(Object.values(EXIT))].sort((a, b) => a - b));
  });

  it("every relative link points to a file in the repository", () => {
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(5);
    for (const l of links) expect(existsSync(join(REPO, l)), l).toBe(true);
  });
});
