/**
 * Helpers for the jobs-with-webhooks tests: calls on a job fixture's gateway (register an
 * endpoint, submit an async request naming one), and waits on a loopback receiver.
 */
import { expect } from "vitest";
import { type JobFixture, submitJob } from "../jobs/testing.ts";
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

export function submit(fx: JobFixture, secret: string, content: string, webhookId?: string) {
  return submitJob(fx.url, secret, content, { webhookId });
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
