/**
 * A llama.cpp-served model has no `/v1/responses` (llama-server answers 404). Until the gateway
 * is given the chat-completions translation (`responsesTranslator`, gateway/responses/translate/),
 * it refuses such a request with a 400 that says what to use instead, before any engine call.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type SessionFixture, startSessionFixture } from "../sessions/testing.ts";
import { post } from "../test/fixtures.ts";

let fx: SessionFixture;
let secret: string;

beforeAll(async () => {
  fx = await startSessionFixture({ preset: "kimi-k2.5-q2" });
  ({ secret } = await fx.newKey());
}, 60_000);
afterAll(() => fx?.close());

it("refuses /v1/responses for a llama.cpp model without the translation", async () => {
  const res = await post(
    `${fx.url}/v1/responses`,
    { model: "kimi-k2.5-q2", input: "Hello" },
    { authorization: `Bearer ${secret}` },
  );
  expect(res.status).toBe(400);
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect(body.error).toMatchObject({ code: "model_not_supported", param: "model" });
  expect(body.error["message"]).toContain("/v1/chat/completions");
  expect(fx.recorder.responses).toHaveLength(0);
  expect(fx.recorder.chats).toHaveLength(0);
});
