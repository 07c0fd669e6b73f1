import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { generateText } from "./generator.ts";
import { sampleFromSchema } from "./jsonSchema.ts";
import { createRng } from "./prng.ts";
import { Scheduler } from "./scheduler.ts";
import { countTokens, splitTokens, takeTokens } from "./tokens.ts";

describe("tokens", () => {
  it("splits text into pieces that join back to it and agree with the count", () => {
    for (const text of [
      "",
      "Hello, world!",
      "  spaced   out  ",
      "internationalization",
      "emoji 😀 ok",
      "a\n\nb",
    ]) {
      const pieces = splitTokens(text);
      expect(pieces.join("")).toBe(text);
      expect(pieces).toHaveLength(countTokens(text));
    }
    expect(takeTokens("one two three four", 2)).toBe("one two");
  });

  it("generates prose of exactly the requested token count", () => {
    const rng = createRng(3);
    for (const n of [1, 2, 16, 40]) expect(countTokens(generateText(rng, n))).toBe(n);
  });
});

describe("schema sampler", () => {
  const ajv = new Ajv({ strict: false });
  const schemas: unknown[] = [
    {
      type: "object",
      properties: {
        name: { type: "string", minLength: 3, maxLength: 10 },
        count: { type: "integer", minimum: 5, maximum: 9 },
        ratio: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
        kind: { enum: ["a", "b"] },
        tags: { type: "array", items: { type: "string" }, minItems: 2, maxItems: 3 },
        nested: {
          type: "object",
          properties: { ok: { type: "boolean" }, when: { type: "string", format: "date" } },
          required: ["ok", "when"],
        },
        maybe: { type: ["string", "null"] },
        ref: { $ref: "#/$defs/point" },
        choice: { anyOf: [{ type: "null" }, { type: "integer", multipleOf: 5, minimum: 1 }] },
      },
      required: ["name", "count", "ratio", "kind", "tags", "nested", "maybe", "ref", "choice"],
      additionalProperties: false,
      $defs: {
        point: {
          type: "object",
          properties: { x: { type: "number" }, y: { type: "number" } },
          required: ["x", "y"],
        },
      },
    },
    { type: "array", items: { type: "object", properties: { id: { const: 7 } }, required: ["id"] } },
    {
      allOf: [
        { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        { properties: { b: { type: "integer" } }, required: ["b"] },
      ],
    },
  ];
  it.each(schemas.map((s, i) => [i, s]))("produces a valid value for schema %i", (_i, schema) => {
    for (let seed = 0; seed < 20; seed++) {
      const value = sampleFromSchema(schema, { rng: createRng(seed) });
      expect(ajv.validate(schema as object, value), JSON.stringify(ajv.errors)).toBe(true);
    }
  });

  it("uses the preferred string only where it fits", () => {
    const value = sampleFromSchema(
      {
        type: "object",
        properties: { long: { type: "string" }, short: { type: "string", maxLength: 3 } },
        required: ["long", "short"],
      },
      { rng: createRng(1), preferredString: "verbatim text" },
    ) as { long: string; short: string };
    expect(value.long).toBe("verbatim text");
    expect(value.short.length).toBeLessThanOrEqual(3);
  });
});

describe("scheduler", () => {
  it("admits up to the cap and hands slots over in FIFO order", async () => {
    const s = new Scheduler(1);
    expect(s.tryAcquire()).toBe(true);
    const order: number[] = [];
    const a = s.acquire(new AbortController().signal).then(() => order.push(1));
    const aborted = new AbortController();
    const b = s.acquire(aborted.signal).catch(() => order.push(-2));
    const c = s.acquire(new AbortController().signal).then(() => order.push(3));
    expect(s.waiting).toBe(3);
    aborted.abort(new Error("gone"));
    await b;
    s.release();
    await a;
    s.release();
    await c;
    s.release();
    expect(order).toEqual([-2, 1, 3]);
    expect(s.running).toBe(0);
    expect(s.waiting).toBe(0);
  });
});
