/**
 * The session id keeps a conversation on one engine replica (vLLM's prefix cache) with
 * sessions stored: every turn of a session, on two replicas, reaches the same one.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { post } from "../test/fixtures.ts";
import { type SessionFixture, startSessionFixture } from "./testing.ts";

let fx: SessionFixture;
let secret: string;

beforeAll(async () => {
  fx = await startSessionFixture({ preset: "qwen3-32b", replicas: 2 });
  ({ secret } = await fx.newKey());
}, 30_000);
afterAll(async () => {
  await fx?.close();
});

it("every turn of a session reaches the same replica, with its whole history", async () => {
  const sessions = Array.from({ length: 6 }, (_, i) => `sticky-${i}`);
  for (let turn = 1; turn <= 4; turn++) {
    await Promise.all(
      sessions.map(async (id) => {
        const res = await post(
          `${fx.url}/v1/chat/completions`,
          { model: "qwen3-32b", max_tokens: 8, messages: [{ role: "user", content: `${id} turn ${turn}` }] },
          { authorization: `Bearer ${secret}`, "x-session-id": id },
        );
        expect(res.status).toBe(200);
        await res.text();
      }),
    );
  }
  for (const id of sessions) {
    const replicas = fx.recorders
      .map((r, i) => ({
        i,
        turns: r.chats.filter((c) => (c["messages"] as { content: string }[])[0]!.content === `${id} turn 1`),
      }))
      .filter((r) => r.turns.length > 0);
    expect(replicas, id).toHaveLength(1);
    // The fourth turn reached it with the three earlier ones before it.
    expect(replicas[0]!.turns.map((c) => (c["messages"] as unknown[]).length)).toEqual([1, 3, 5, 7]);
  }
});
