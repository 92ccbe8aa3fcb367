// The committed schemas, AsyncAPI document and generated doc section must be what the generator makes
// from the current code, and the AsyncAPI document must pass the official parser.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Parser } from "@asyncapi/parser";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { CHANNELS, COMPANION_TYPES, DEVICE_TYPES, OFFLINE } from "../../protocol/index.js";
import { REPO_ROOT, generateArtifacts, messageSchema } from "../../protocol/gen/generate.js";

function committed(rel: string): string | undefined {
  try {
    return readFileSync(join(REPO_ROOT, rel), "utf8");
  } catch {
    return undefined;
  }
}

describe("generated protocol artifacts", () => {
  const files = generateArtifacts();

  it("are current (otherwise: run npm run gen:protocol)", () => {
    const stale = Object.entries(files)
      .filter(([rel, content]) => committed(rel) !== content)
      .map(([rel]) => rel);
    expect(stale, `stale generated files, run npm run gen:protocol: ${stale.join(", ")}`).toEqual([]);
  });

  it("include a draft-07 JSON Schema for every message type", () => {
    for (const t of [...COMPANION_TYPES, ...DEVICE_TYPES]) {
      const s = JSON.parse(files[`protocol/schemas/${t}.json`]) as Record<string, unknown>;
      expect(s.$schema).toBe("http://json-schema.org/draft-07/schema#");
      expect((s.properties as Record<string, { const?: unknown }>).type.const).toBe(t);
      expect(s.required).toEqual(expect.arrayContaining(["v", "seq", "type"]));
    }
    // Receivers ignore unknown fields, so the schemas must not forbid them.
    expect(messageSchema("tlm").additionalProperties).toBeUndefined();
  });

  it("AsyncAPI document parses with the official parser without errors", async () => {
    const text = files["protocol/asyncapi.yaml"];
    const { document, diagnostics } = await new Parser().parse(text);
    const errors = diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join(".")}: ${d.message}`);
    expect(errors).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.channels().length).toBe(Object.keys(CHANNELS).length);
  });

  it("AsyncAPI bindings carry each channel's QoS and retain flag and the last will", () => {
    const doc = parse(files["protocol/asyncapi.yaml"]) as {
      operations: Record<string, { channel: { $ref: string }; bindings: { mqtt: { qos: number; retain: boolean } } }>;
      servers: { broker: { bindings: { mqtt: { lastWill: { topic: string; message: string; retain: boolean } } } } };
    };
    const seen = new Set<string>();
    for (const op of Object.values(doc.operations)) {
      const ch = op.channel.$ref.split("/").pop() as keyof typeof CHANNELS;
      seen.add(ch);
      expect(op.bindings.mqtt).toMatchObject({ qos: CHANNELS[ch].qos, retain: CHANNELS[ch].retain });
    }
    expect(seen.size).toBe(Object.keys(CHANNELS).length);
    expect(doc.servers.broker.bindings.mqtt.lastWill).toMatchObject({ topic: "invert/{deviceId}/status", message: OFFLINE, retain: true });
  });
});
