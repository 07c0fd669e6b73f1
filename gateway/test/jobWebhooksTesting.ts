/**
 * Helpers for the jobs-with-webhooks tests: calls on a job fixture's gateway (register an
 * endpoint, submit an async request naming one), and waits on a loopback receiver.
 */
import { expect } from "vitest";
import type { JobObject } from "../jobs/serialize.ts";
import type { JobFixture } from "../jobs/testing.ts";
import type { ReceivedHook, Receiver } from "../webhooks/testing.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
export type Json = any;

export async function api(fx: JobFixture, secret: string, method: string, path: string, body?: unknown) {
  return fetch(`${fx.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${secret}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

export async function register(fx: JobFixture, secret: string, url: string): Promise<Json> {
  const res = await api(fx, secret, "POST", "/v1/webhooks", { url });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

export async function submit(fx: JobFixture, secret: string, content: string, webhookId?: string) {
  const res = await fetch(`${fx.url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${secret}`,
      "content-type": "application/json",
      prefer: "respond-async",
      ...(webhookId ? { "gonka-webhook-id": webhookId } : {}),
    },
    body: JSON.stringify({ model: "qwen3-32b", max_tokens: 8, messages: [{ role: "user", content }] }),
  });
  expect(res.status, await res.clone().text()).toBe(202);
  return (await res.json()) as JobObject;
}

export async function cancelledCount(fx: JobFixture): Promise<number> {
  const metrics = await (await fetch(`${fx.opsUrl}/metrics`)).text();
  return Number(/gonka_jobs_completed_total\{outcome="cancelled"\} (\d+)/.exec(metrics)![1]);
}

export const hooksTo = (r: Receiver, path: string) => r.hits.filter((h) => h.path === path);
export const webhookId = (h: ReceivedHook) => h.headers["webhook-id"];

/** Waits until `n` hooks reached `path`, then a little longer so a stray extra one would show. */
export async function settle(r: Receiver, path: string, n: number): Promise<ReceivedHook[]> {
  const end = Date.now() + 10_000;
  while (hooksTo(r, path).length < n) {
    if (Date.now() > end) throw new Error(`only ${hooksTo(r, path).length} of ${n} hooks reached ${path}`);
    await new Promise((done) => setTimeout(done, 20));
  }
  await new Promise((done) => setTimeout(done, 300));
  return hooksTo(r, path);
}
