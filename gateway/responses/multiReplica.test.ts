/**
 * A response chain across two gateway processes on one Postgres (as two pods): a response
 * stored by one replica is continued, retrieved and deleted through the other, the engine
 * getting the whole input each time, and another key sees it on neither.
 */
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type PostgresServer, startPostgresServer } from "../../harness/postgresServer.ts";
import type { SpawnedGateway } from "../../harness/spawnGateway.ts";
import { post } from "../test/fixtures.ts";
import { type ProcessFixture, startProcessFixture } from "../test/processFixture.ts";

type Json = Record<string, unknown>;

let postgres: PostgresServer;
let fx: ProcessFixture;
let a: SpawnedGateway;
let b: SpawnedGateway;
let secret: string;
let other: string;

beforeAll(async () => {
  postgres = await startPostgresServer();
  const databaseUrl = await postgres.createDatabase("responses");
  fx = await startProcessFixture({ preset: "kimi-k2.5" });
  const replica = (name: string) =>
    fx.startGateway({ GONKA_DATA_DIR: join(fx.dir, `data-${name}`), GONKA_DATABASE_URL: databaseUrl });
  [a, b] = await Promise.all([replica("a"), replica("b")]);
  ({ secret } = await fx.createKey(a, { name: "agent", tier: "standard" }));
  ({ secret: other } = await fx.createKey(a, { name: "other", tier: "standard" }));
}, 90_000);

afterAll(async () => {
  await fx?.close();
  await postgres?.stop();
});

async function create(gw: SpawnedGateway, body: Json, key = secret): Promise<{ status: number; json: Json }> {
  const res = await post(
    `${gw.url}/v1/responses`,
    { model: "kimi-k2.5", ...body },
    { authorization: `Bearer ${key}` },
  );
  return { status: res.status, json: (await res.json()) as Json };
}

const get = (gw: SpawnedGateway, path: string, key = secret, method = "GET") =>
  fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${key}` } });

it("a chain continues, is read and deleted through either replica", async () => {
  const first = await create(a, { input: 'Use get_weather for "Paris".', tools: [weather] });
  expect(first.status).toBe(200);
  const call = (first.json["output"] as Json[]).find((i) => i["type"] === "function_call")!;
  const second = await create(b, {
    previous_response_id: first.json["id"],
    input: [{ type: "function_call_output", call_id: call["call_id"], output: "sunny, 21C" }],
    tools: [weather],
  });
  expect(second.status, JSON.stringify(second.json)).toBe(200);
  const text = (second.json["output"] as Json[])
    .filter((i) => i["type"] === "message")
    .map((i) => ((i["content"] as Json[])[0]!["text"] as string) ?? "")
    .join("");
  expect(text).toContain("sunny, 21C");
  const third = await create(a, {
    previous_response_id: second.json["id"],
    input: "Thanks!",
    tools: [weather],
  });
  expect(third.status).toBe(200);
  expect((third.json["usage"] as Json)["input_tokens"]).toBeGreaterThan(
    (second.json["usage"] as Json)["input_tokens"] as number,
  );
  const read = await get(b, `/v1/responses/${first.json["id"]}`);
  expect(read.status).toBe(200);
  expect(((await read.json()) as Json)["output"]).toEqual(first.json["output"]);
  for (const gw of [a, b])
    expect((await get(gw, `/v1/responses/${third.json["id"]}`, other)).status).toBe(404);
  expect((await get(b, `/v1/responses/${third.json["id"]}`, secret, "DELETE")).status).toBe(200);
  expect((await get(a, `/v1/responses/${third.json["id"]}`)).status).toBe(404);
});

const weather = {
  type: "function",
  name: "get_weather",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
