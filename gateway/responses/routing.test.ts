/**
 * Routing of `POST /v1/responses` like chat completions: a response chain stays on one engine
 * replica (its prefix cache), a router alias picks the model from the Responses input, and the
 * tier's rate limits apply.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type SessionFixture, startSessionFixture } from "../sessions/testing.ts";
import { post } from "../test/fixtures.ts";

let fx: SessionFixture;
let secret: string;

beforeAll(async () => {
  fx = await startSessionFixture({
    replicas: 2,
    config: (c) => ({
      ...c,
      tiers: {
        ...c.tiers,
        standard: { requestsPerMinute: 10_000, tokensPerMinute: 100_000_000, concurrentRequests: 100 },
        scarce: { requestsPerMinute: 1, tokensPerMinute: 100_000_000, concurrentRequests: 100 },
      },
      routers: [
        {
          alias: "auto",
          rules: [{ name: "weather", when: { lastUserMessage: "weather" }, model: "kimi-k2.5" }],
          default: { model: "kimi-k2.5" },
        },
      ],
    }),
  });
  ({ secret } = await fx.newKey());
}, 60_000);
afterAll(() => fx?.close());

const create = async (body: Record<string, unknown>, key = secret) => {
  const res = await post(
    `${fx.url}/v1/responses`,
    { model: "kimi-k2.5", max_output_tokens: 8, ...body },
    {
      authorization: `Bearer ${key}`,
    },
  );
  return { res, json: (await res.json()) as Record<string, unknown> };
};

it("every response of a chain reaches the same replica", async () => {
  const chains = Array.from({ length: 6 }, (_, i) => `chain-${i}`);
  await Promise.all(
    chains.map(async (name) => {
      let previous: unknown = null;
      for (let turn = 1; turn <= 3; turn++) {
        const { res, json } = await create({ input: `${name} turn ${turn}`, previous_response_id: previous });
        expect(res.status, JSON.stringify(json)).toBe(200);
        previous = json["id"];
      }
    }),
  );
  for (const name of chains) {
    const replicas = fx.recorders
      .map((r) =>
        r.responses
          .filter((b) => JSON.stringify(b["input"]).includes(`"${name} turn 1"`))
          .map((b) => b["input"]),
      )
      .filter((inputs) => inputs.length > 0);
    expect(replicas, name).toHaveLength(1);
    expect((replicas[0] as unknown[][]).map((i) => i.length)).toHaveLength(3);
  }
});

it("a router alias routes a Responses request by its input", async () => {
  const weather = await create({ model: "auto", input: [{ role: "user", content: "the weather please" }] });
  expect(weather.res.status).toBe(200);
  expect(weather.res.headers.get("x-gonka-route")).toBe("weather");
  expect(weather.json["model"]).toBe("kimi-k2.5");
  const other = await create({ model: "auto", input: "hello" });
  expect(other.res.headers.get("x-gonka-route")).toBe("default");
});

it("the key's tier limits apply", async () => {
  const { key, secret: scarce } = await fx.services.store.keys.create({ name: "scarce", tier: "scarce" });
  expect(key.tier).toBe("scarce");
  expect((await create({ input: "one" }, scarce)).res.status).toBe(200);
  const limited = await create({ input: "two" }, scarce);
  expect(limited.res.status).toBe(429);
  expect((limited.json["error"] as Record<string, unknown>)["type"]).toBeDefined();
});
