/**
 * Webhooks end to end on a real in-process gateway with its real store: the `/v1/webhooks`
 * API per key, registration refusals by the SSRF guard, and deliveries to a loopback
 * receiver (the one allow-listed address, 127.0.0.1/32) verified with the `openai` SDK's
 * `webhooks.unwrap()` and `standardwebhooks`' `Webhook.verify`: retries with the same
 * webhook-id, the delivery log, redeliver, secret rotation, metrics and the OpenAPI document.
 * Settings that need a gateway of their own are in settings.test.ts; restarts and replicas
 * in durability.test.ts.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import OpenAI from "openai";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { tempDataDir } from "../store/testing.ts";
import { webhooksOpenApi } from "./openapi.ts";
import {
  headersOf,
  jobEvent,
  type Receiver,
  startReceiver,
  startWebhookGateway,
  verifyBoth,
  type WebhookGateway,
} from "./testing.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
type Json = any;

describe("webhooks on a gateway (SQLite)", () => {
  const data = tempDataDir();
  let gw: WebhookGateway;
  let receiver: Receiver;
  let keyA: { id: string; secret: string };
  let keyB: { id: string; secret: string };

  const call = (key: { secret: string }, method: string, path: string, body?: unknown) =>
    fetch(`${gw.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key.secret}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const register = async (key: { secret: string }, body: Record<string, unknown>) => {
    const res = await call(key, "POST", "/v1/webhooks", body);
    expect(res.status, await res.clone().text()).toBe(201);
    return (await res.json()) as Json;
  };
  const deliveries = async (key: { secret: string }, id: string) =>
    ((await (await call(key, "GET", `/v1/webhooks/${id}/deliveries`)).json()) as Json).data;
  const until = async (what: () => Promise<boolean>, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > end) throw new Error("condition not reached");
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  beforeAll(async () => {
    gw = await startWebhookGateway({ dataDir: data.dir });
    const make = async () => {
      const { key, secret } = await gw.services.store.keys.create({ name: "hooks", tier: "standard" });
      return { id: key.id, secret };
    };
    keyA = await make();
    keyB = await make();
  });
  afterAll(async () => {
    await gw.close();
    data.remove();
  });
  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    for (const key of [keyA, keyB]) {
      for (const e of ((await (await call(key, "GET", "/v1/webhooks")).json()) as Json).data) {
        await call(key, "DELETE", `/v1/webhooks/${e.id}`);
      }
    }
  });

  it("registers endpoints per key: secret shown once, other keys get 404, bad input is a 400", async () => {
    const created = await register(keyA, { url: `${receiver.origin}/hook`, description: "ci" });
    expect(created).toMatchObject({
      object: "webhook_endpoint",
      url: `${receiver.origin}/hook`,
      events: ["job.succeeded", "job.failed", "job.cancelled"],
      description: "ci",
      previous_secret_expires_at: null,
    });
    expect(created.id).toMatch(/^we_/);
    expect(created.secret).toMatch(/^whsec_/);
    const got = (await (await call(keyA, "GET", `/v1/webhooks/${created.id}`)).json()) as Json;
    expect(got.secret).toBeUndefined();
    const list = (await (await call(keyA, "GET", "/v1/webhooks")).json()) as Json;
    expect(list).toMatchObject({ object: "list", has_more: false });
    expect(list.data.map((e: Json) => e.id)).toEqual([created.id]);
    expect(((await (await call(keyB, "GET", "/v1/webhooks")).json()) as Json).data).toEqual([]);
    for (const [method, path] of [
      ["GET", `/v1/webhooks/${created.id}`],
      ["DELETE", `/v1/webhooks/${created.id}`],
      ["POST", `/v1/webhooks/${created.id}/rotate_secret`],
      ["GET", `/v1/webhooks/${created.id}/deliveries`],
    ] as const) {
      const res = await call(keyB, method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as Json).error).toMatchObject({
        type: "not_found_error",
        code: "webhook_not_found",
      });
    }
    const bad = await call(keyA, "POST", "/v1/webhooks", {
      url: `${receiver.origin}/x`,
      events: ["job.done"],
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error).toMatchObject({
      param: "events.0",
      code: "invalid_webhook_field",
    });
    const unknown = await call(keyA, "POST", "/v1/webhooks", { url: `${receiver.origin}/x`, secret: "mine" });
    expect(((await unknown.json()) as Json).error).toMatchObject({ param: "secret" });
    const noKey = await fetch(`${gw.url}/v1/webhooks`);
    expect(noKey.status).toBe(401);
    // Registration resolves, never connects.
    expect(receiver.hits).toEqual([]);
    const deleted = await call(keyA, "DELETE", `/v1/webhooks/${created.id}`);
    expect(await deleted.json()).toEqual({
      id: created.id,
      object: "webhook_endpoint.deleted",
      deleted: true,
    });
    expect((await call(keyA, "GET", `/v1/webhooks/${created.id}`)).status).toBe(404);
  });

  it("refuses every loopback form but the allow-listed 127.0.0.1, and contacts none of them", async () => {
    const port = new URL(receiver.origin).port;
    for (const host of [
      "127.0.0.2",
      "[::1]",
      "localhost",
      "0x7f000001",
      "2130706433",
      "[::ffff:127.0.0.1]",
      "127.1",
    ]) {
      const res = await call(keyA, "POST", "/v1/webhooks", { url: `http://${host}:${port}/hook` });
      expect(res.status, host).toBe(400);
      expect(((await res.json()) as Json).error, host).toMatchObject({
        type: "invalid_request_error",
        code: "webhook_url_refused",
        param: "url",
      });
    }
    const metadata = await call(keyA, "POST", "/v1/webhooks", {
      url: "http://169.254.169.254/latest/meta-data/",
    });
    expect(((await metadata.json()) as Json).error.message).toMatch(/cloud metadata/);
    expect(receiver.hits).toEqual([]);
  });

  it("delivers a job event signed for both the openai SDK and standardwebhooks, and logs it", async () => {
    const endpoint = await register(keyA, { url: `${receiver.origin}/hook` });
    const event = jobEvent(keyA.id);
    await gw.services.webhooks.sink.emit(event);
    const [hit] = await receiver.waitFor(1);
    expect(hit!.headers["webhook-id"]).toBe(event.id);
    expect(hit!.headers["content-type"]).toBe("application/json");
    const body = await verifyBoth(hit!, endpoint.secret);
    expect(body).toEqual({
      id: event.id,
      object: "event",
      type: "job.succeeded",
      created_at: Math.floor(event.createdAt / 1000),
      timestamp: new Date(event.createdAt).toISOString(),
      data: event.job,
    });
    // A wrong secret fails both verifiers.
    const other = "whsec_" + Buffer.alloc(32, 7).toString("base64");
    await expect(
      new OpenAI({ apiKey: "x", webhookSecret: other }).webhooks.unwrap(hit!.body, headersOf(hit!)),
    ).rejects.toThrow();
    expect(() => new Webhook(other).verify(hit!.body, headersOf(hit!))).toThrow();
    await until(async () => (await deliveries(keyA, endpoint.id))[0]?.status === "succeeded");
    const [logged] = await deliveries(keyA, endpoint.id);
    expect(logged).toMatchObject({
      object: "webhook_delivery",
      endpoint_id: endpoint.id,
      webhook_id: event.id,
      event_type: "job.succeeded",
      status: "succeeded",
      attempts: 1,
      last_status_code: 200,
      last_error: null,
      next_attempt_at: null,
    });
    expect(logged.attempt_log).toHaveLength(1);
    expect(logged.attempt_log[0]).toMatchObject({ attempt: 1, status_code: 200, error: null });
    expect(logged.attempt_log[0].duration_ms).toBeGreaterThan(0);
    // Emitting the same event again is a no-op.
    await gw.services.webhooks.sink.emit(event);
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.hits).toHaveLength(1);
  });

  it("retries a receiver failing twice: three arrivals with one webhook-id, all in the delivery log", async () => {
    const endpoint = await register(keyA, { url: `${receiver.origin}/hook` });
    receiver.script = [500, 503];
    const event = jobEvent(keyA.id, { type: "job.failed" });
    await gw.services.webhooks.sink.emit(event);
    const hits = await receiver.waitFor(3);
    expect(hits.map((h) => h.headers["webhook-id"])).toEqual([event.id, event.id, event.id]);
    for (const h of hits) expect((await verifyBoth(h, endpoint.secret)).type).toBe("job.failed");
    // Backoff: the schedule's 100 ms, then 200 ms, between arrivals.
    expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(90);
    expect(hits[2]!.at - hits[1]!.at).toBeGreaterThanOrEqual(190);
    await until(async () => (await deliveries(keyA, endpoint.id))[0]?.status === "succeeded");
    const [logged] = await deliveries(keyA, endpoint.id);
    expect(logged).toMatchObject({ attempts: 3, webhook_id: event.id, last_status_code: 200 });
    expect(logged.attempt_log.map((a: Json) => [a.attempt, a.status_code, a.error])).toEqual([
      [1, 500, "HTTP 500"],
      [2, 503, "HTTP 503"],
      [3, 200, null],
    ]);
    const metrics = await (await fetch(`${gw.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/gonka_webhook_attempts_total\{result="http_error"\} [2-9]/);
    expect(metrics).toMatch(/gonka_webhook_deliveries_total\{outcome="succeeded"\} [1-9]/);
    expect(metrics).toMatch(/gonka_webhook_delivery_latency_seconds_count [1-9]/);
    expect(metrics).toMatch(/gonka_webhook_outbox_pending 0/);
    expect(metrics).toMatch(/gonka_webhook_events_enqueued_total [1-9]/);
    expect(metrics).toMatch(/gonka_webhook_attempt_duration_seconds_count [3-9]/);
    expect(metrics).toMatch(/gonka_requests_in_flight/); // the gateway's own metrics are still there
  });

  it("marks a delivery failed after the schedule, then redelivers it on request with the same webhook-id", async () => {
    const endpoint = await register(keyA, { url: `${receiver.origin}/hook` });
    receiver.script = [500, 500, 500];
    const event = jobEvent(keyA.id, { type: "job.cancelled" });
    await gw.services.webhooks.sink.emit(event);
    await receiver.waitFor(3);
    await until(async () => (await deliveries(keyA, endpoint.id))[0]?.status === "failed");
    const [failed] = await deliveries(keyA, endpoint.id);
    expect(failed).toMatchObject({
      attempts: 3,
      last_status_code: 500,
      last_error: "HTTP 500",
      next_attempt_at: null,
    });
    const metrics = await (await fetch(`${gw.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/gonka_webhook_deliveries_total\{outcome="failed"\} [1-9]/);
    expect(
      (await call(keyB, "POST", `/v1/webhooks/${endpoint.id}/deliveries/${failed.id}/redeliver`)).status,
    ).toBe(404);
    const missing = await call(
      keyA,
      "POST",
      `/v1/webhooks/${endpoint.id}/deliveries/whd_${"0".repeat(24)}/redeliver`,
    );
    expect(((await missing.json()) as Json).error.code).toBe("delivery_not_found");
    const res = await call(keyA, "POST", `/v1/webhooks/${endpoint.id}/deliveries/${failed.id}/redeliver`);
    expect(res.status).toBe(202);
    expect(((await res.json()) as Json).status).toBe("pending");
    const hits = await receiver.waitFor(4);
    expect(hits[3]!.headers["webhook-id"]).toBe(event.id);
    await until(async () => (await deliveries(keyA, endpoint.id))[0]?.status === "succeeded");
    expect((await deliveries(keyA, endpoint.id))[0].attempts).toBe(4);
  });

  it("does not follow redirects and gives up on a receiver that does not answer in time", async () => {
    const endpoint = await register(keyA, { url: `${receiver.origin}/hook` });
    receiver.script = [302];
    await gw.services.webhooks.sink.emit(jobEvent(keyA.id));
    await receiver.waitFor(2);
    expect(receiver.hits.map((h) => h.path)).toEqual(["/hook", "/hook"]);
    await until(async () => (await deliveries(keyA, endpoint.id))[0]?.status === "succeeded");
    const [logged] = await deliveries(keyA, endpoint.id);
    expect(logged.attempt_log[0]).toMatchObject({ status_code: 302 });
    expect(logged.attempt_log[0].error).toMatch(/redirects are not followed/);

    receiver.script = ["hang"];
    const started = Date.now();
    await gw.services.webhooks.sink.emit(jobEvent(keyA.id));
    await receiver.waitFor(4);
    expect(receiver.hits[3]!.at - started).toBeGreaterThanOrEqual(1_000);
    await until(async () => (await deliveries(keyA, endpoint.id))[0]?.status === "succeeded");
    const [timedOut] = await deliveries(keyA, endpoint.id);
    expect(timedOut.attempt_log[0]).toMatchObject({ status_code: null, error: "timed out after 1000 ms" });
    expect(timedOut.attempt_log[0].duration_ms).toBeGreaterThanOrEqual(990);
  });

  it("fans out to subscribed endpoints, or only the one a job names; the sink checks that name", async () => {
    const all = await register(keyA, { url: `${receiver.origin}/all` });
    const failedOnly = await register(keyA, { url: `${receiver.origin}/failed`, events: ["job.failed"] });
    await register(keyB, { url: `${receiver.origin}/other-key` });
    await gw.services.webhooks.sink.emit(jobEvent(keyA.id, { type: "job.succeeded" }));
    await receiver.waitFor(1);
    await gw.services.webhooks.sink.emit(
      jobEvent(keyA.id, { type: "job.failed", endpointId: failedOnly.id }),
    );
    await receiver.waitFor(2);
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.hits.map((h) => h.path)).toEqual(["/all", "/failed"]);
    await expect(gw.services.webhooks.sink.checkEndpoint(keyA.id, all.id)).resolves.toBeUndefined();
    for (const [key, id] of [
      [keyB.id, all.id],
      [keyA.id, "we_nope"],
    ]) {
      await expect(gw.services.webhooks.sink.checkEndpoint(key!, id!)).rejects.toMatchObject({
        status: 400,
        code: "webhook_not_found",
        param: null,
      });
    }
  });

  it("rotates a secret: during the grace period deliveries carry both signatures", async () => {
    const endpoint = await register(keyA, { url: `${receiver.origin}/hook` });
    const res = await call(keyA, "POST", `/v1/webhooks/${endpoint.id}/rotate_secret`);
    const rotated = (await res.json()) as Json;
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(endpoint.secret);
    expect(rotated.previous_secret_expires_at).toBeGreaterThan(Date.now() / 1000 + 23 * 3600);
    await gw.services.webhooks.sink.emit(jobEvent(keyA.id));
    const [hit] = await receiver.waitFor(1);
    expect(String(hit!.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    await verifyBoth(hit!, rotated.secret);
    await verifyBoth(hit!, endpoint.secret);
  });

  it("documents every mounted route in its OpenAPI document, and answers match its schemas", async () => {
    const served = (await (await fetch(`${gw.opsUrl}/gonka/openapi/webhooks.json`)).json()) as Json;
    expect(served).toEqual(JSON.parse(JSON.stringify(webhooksOpenApi)));
    const documented = new Set<string>();
    for (const [p, item] of Object.entries(webhooksOpenApi.paths)) {
      for (const method of Object.keys(item)) {
        if (method !== "parameters") documented.add(`${method.toUpperCase()} ${p}`);
      }
    }
    const mounted = new Set<string>();
    for (const route of routerLayers(gw)) mounted.add(route);
    expect([...mounted].sort()).toEqual([...documented].sort());

    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ ...JSON.parse(JSON.stringify(webhooksOpenApi)), $id: "webhooks" });
    const check = (schema: string, value: unknown) =>
      expect(
        ajv.validate({ $ref: `webhooks#/components/schemas/${schema}` }, value),
        `${schema}: ${ajv.errorsText()}`,
      ).toBe(true);
    const body = { url: `${receiver.origin}/hook`, events: ["job.succeeded"], description: null };
    check("CreateWebhookEndpoint", body);
    const created = await register(keyA, body);
    check("WebhookEndpointWithSecret", created);
    check("WebhookEndpoint", await (await call(keyA, "GET", `/v1/webhooks/${created.id}`)).json());
    check("WebhookEndpointList", await (await call(keyA, "GET", "/v1/webhooks")).json());
    check(
      "WebhookEndpointWithSecret",
      await (await call(keyA, "POST", `/v1/webhooks/${created.id}/rotate_secret`)).json(),
    );
    await gw.services.webhooks.sink.emit(jobEvent(keyA.id));
    const [hit] = await receiver.waitFor(1);
    check("WebhookEvent", JSON.parse(hit!.body));
    await until(async () => (await deliveries(keyA, created.id))[0]?.status === "succeeded");
    const list = (await (
      await call(keyA, "GET", `/v1/webhooks/${created.id}/deliveries?limit=1`)
    ).json()) as Json;
    check("WebhookDeliveryList", list);
    const redelivered = await call(
      keyA,
      "POST",
      `/v1/webhooks/${created.id}/deliveries/${list.data[0].id}/redeliver`,
    );
    check("WebhookDelivery", await redelivered.json());
    check("Error", await (await call(keyA, "GET", `/v1/webhooks/${created.id}/deliveries?limit=0`)).json());
    check("DeletedWebhookEndpoint", await (await call(keyA, "DELETE", `/v1/webhooks/${created.id}`)).json());
  });
});

/** `METHOD /path` of every `/v1/webhooks` route the API router mounted. */
function routerLayers(gw: WebhookGateway): string[] {
  const out: string[] = [];
  for (const mw of gw.gateway.app.middleware as {
    router?: { stack: { path: string; methods: string[] }[] };
  }[]) {
    for (const layer of mw.router?.stack ?? []) {
      if (!String(layer.path).startsWith("/v1/webhooks")) continue;
      for (const method of layer.methods) {
        if (method !== "HEAD")
          out.push(
            `${method} ${String(layer.path)
              .replace(/:(\w+)/g, "{$1}")
              .replace("{deliveryId}", "{delivery_id}")}`,
          );
      }
    }
  }
  return out;
}
