/**
 * Regenerates openai-schemas.json: the schemas the suite validates against, with
 * everything they `$ref`, cut out of OpenAI's openapi.yaml (github.com/openai/openai-openapi,
 * MIT, see LICENSE here). A few hundred KB of JSON loads in milliseconds where the
 * whole 3 MB YAML takes most of a second, and CI machines have no copy of the spec.
 *
 *   node conformance/openapi/extract.ts /path/to/openapi.yaml [source-note]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { ROOT_SCHEMAS } from "../lib/spec.ts";

const [input, note = "openai/openai-openapi"] = process.argv.slice(2);
if (!input) {
  console.error("usage: node conformance/openapi/extract.ts <openapi.yaml> [source-note]");
  process.exit(2);
}
const doc = parse(readFileSync(input, "utf8"), { maxAliasCount: -1 }) as {
  components: { schemas: Record<string, unknown> };
};
const all = doc.components.schemas;
const picked: Record<string, unknown> = {};
const queue: string[] = [...ROOT_SCHEMAS];
while (queue.length) {
  const name = queue.shift()!;
  if (name in picked) continue;
  const schema = all[name];
  if (schema === undefined) throw new Error(`schema ${name} is not in ${input}`);
  picked[name] = schema;
  for (const m of JSON.stringify(schema).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) queue.push(m[1]!);
}
const out = resolve(import.meta.dirname, "openai-schemas.json");
const sorted = Object.fromEntries(Object.entries(picked).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(out, `${JSON.stringify({ source: note, schemas: sorted }, null, 1)}\n`);
console.log(`wrote ${Object.keys(sorted).length} schemas to ${out}`);
