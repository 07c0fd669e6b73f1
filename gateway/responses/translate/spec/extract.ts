/**
 * Regenerates responses-schemas.json: the Responses API schemas the translation's tests validate
 * against (the Response object, every stream event, the create body), with everything they
 * `$ref`, cut out of OpenAI's openapi.yaml (github.com/openai/openai-openapi, MIT, see
 * conformance/openapi/LICENSE). CI machines have no copy of the 3 MB spec.
 *
 *   node gateway/responses/translate/spec/extract.ts /path/to/openapi.yaml
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";

const RESPONSES_ROOTS = ["Response", "ResponseStreamEvent", "CreateResponse"] as const;

const [input] = process.argv.slice(2);
if (!input) {
  console.error("usage: node gateway/responses/translate/spec/extract.ts <openapi.yaml>");
  process.exit(2);
}
const doc = parse(readFileSync(input, "utf8"), { maxAliasCount: -1 }) as {
  components: { schemas: Record<string, unknown> };
};
const all = doc.components.schemas;
const picked: Record<string, unknown> = {};
const queue: string[] = [...RESPONSES_ROOTS];
while (queue.length) {
  const name = queue.shift()!;
  if (name in picked) continue;
  const schema = all[name];
  if (schema === undefined) throw new Error(`schema ${name} is not in ${input}`);
  picked[name] = schema;
  for (const m of JSON.stringify(schema).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) queue.push(m[1]!);
}
const sorted = Object.fromEntries(Object.entries(picked).sort(([a], [b]) => a.localeCompare(b)));
const out = resolve(import.meta.dirname, "responses-schemas.json");
writeFileSync(out, `${JSON.stringify({ source: "openai/openai-openapi", schemas: sorted })}\n`);
console.log(`wrote ${Object.keys(sorted).length} schemas to ${out}`);
