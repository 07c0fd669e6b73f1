/**
 * Webhook settings that need a gateway of their own: the payload cap and the endpoint cap,
 * secrets encrypted at rest (GONKA_WEBHOOK_SECRET_KEY), and the default configuration (empty
 * allow-list, https only). Receivers listen on 127.0.0.1 only.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDataDir } from "../store/testing.ts";
import {
  jobEvent,
  type Receiver,
  startReceiver,
  startWebhookGateway,
  verifyBoth,
  type WebhookGateway,
} from "./testing.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
type Json = any;

describe("webhook settings", () => {
  let receiver: Receiver;
  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  it("sends a link instead of a job larger than webhooks.maxPayloadBytes at once (an emit wakes the worker), and caps endpoints per key", async () => {
    const big = await startWebhookGateway({
      dataDir: tempDataDir().dir,
      // No polling within the test's time: only the emit's wake-up can deliver.
      webhooks: { allowHttp: true, pollIntervalMs: 600_000, maxPayloadBytes: 1_000, maxEndpointsPerKey: 1 },
    });
    try {
      const { key, secret } = await big.services.store.keys.create({ name: "big", tier: "standard" });
      const res = await fetch(`${big.url}/v1/webhooks`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify({ url: `${receiver.origin}/hook` }),
      });
      const endpoint = (await res.json()) as Json;
      const second = await fetch(`${big.url}/v1/webhooks`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify({ url: `${receiver.origin}/second` }),
      });
      expect(second.status).toBe(400);
      expect(((await second.json()) as Json).error.code).toBe("webhook_limit_reached");
      const event = jobEvent(key.id);
      event.job["completion"] = { text: "x".repeat(5_000) };
      await big.services.webhooks.sink.emit(event);
      const [hit] = await receiver.waitFor(1);
      const body = await verifyBoth(hit!, endpoint.secret);
      expect(body.data).toEqual({
        id: event.job["id"],
        object: "job",
        status: "succeeded",
        endpoint: "/v1/chat/completions",
        model: "kimi-k2.5",
        created_at: event.job["created_at"],
        finished_at: event.job["finished_at"],
        webhook_id: null,
        url: `/v1/jobs/${event.job["id"]}`,
        truncated: true,
      });
    } finally {
      await big.close();
    }
  });

  it("encrypts signing secrets at rest with GONKA_WEBHOOK_SECRET_KEY; a gateway without it cannot sign", async () => {
    const dir = tempDataDir().dir;
    const env = {
      GONKA_WEBHOOK_ALLOWLIST: "127.0.0.1/32",
      GONKA_WEBHOOK_SECRET_KEY: "correct horse battery staple",
    };
    let sealed = await startWebhookGateway({ dataDir: dir, env });
    const { key, secret } = await sealed.services.store.keys.create({ name: "sealed", tier: "standard" });
    const post = (gw: WebhookGateway, path: string, body?: unknown) =>
      fetch(`${gw.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    try {
      const endpoint = (await (
        await post(sealed, "/v1/webhooks", { url: `${receiver.origin}/hook` })
      ).json()) as Json;
      const stored = (await sealed.services.store.webhooks.getEndpoint(key.id, endpoint.id))!;
      expect(stored.secret).toMatch(/^enc:v1:/);
      expect(stored.secret).not.toContain(endpoint.secret.slice(6));
      await sealed.services.webhooks.sink.emit(jobEvent(key.id));
      await verifyBoth((await receiver.waitFor(1))[0]!, endpoint.secret);
      const rotated = (await (
        await post(sealed, `/v1/webhooks/${endpoint.id}/rotate_secret`)
      ).json()) as Json;
      expect((await sealed.services.store.webhooks.getEndpoint(key.id, endpoint.id))!.secret).toMatch(
        /^enc:v1:/,
      );
      await sealed.services.webhooks.sink.emit(jobEvent(key.id));
      const [, second] = await receiver.waitFor(2);
      await verifyBoth(second!, rotated.secret);
      await verifyBoth(second!, endpoint.secret);
      await sealed.close();
      // The same database, a gateway without the key: the attempt fails and says why.
      sealed = await startWebhookGateway({ dataDir: dir, env: { GONKA_WEBHOOK_ALLOWLIST: "127.0.0.1/32" } });
      await sealed.services.webhooks.sink.emit(jobEvent(key.id));
      const end = Date.now() + 5_000;
      let logged: Json;
      do {
        await new Promise((r) => setTimeout(r, 50));
        [logged] = (await sealed.services.store.webhooks.listDeliveries(key.id, endpoint.id, 1)).deliveries;
      } while (logged.attempts === 0 && Date.now() < end);
      expect(logged.lastError).toMatch(/GONKA_WEBHOOK_SECRET_KEY is not set/);
      expect(receiver.hits).toHaveLength(2);
    } finally {
      await sealed.close();
    }
  });

  it("refuses 127.0.0.1 and http with the default configuration (empty allow-list, https only)", async () => {
    const plain = await startWebhookGateway({ dataDir: tempDataDir().dir, webhooks: {}, env: {} });
    try {
      const { secret } = await plain.services.store.keys.create({ name: "plain", tier: "standard" });
      const post = async (url: string) =>
        (await (
          await fetch(`${plain.url}/v1/webhooks`, {
            method: "POST",
            headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
            body: JSON.stringify({ url }),
          })
        ).json()) as Json;
      expect((await post(`https://127.0.0.1:${new URL(receiver.origin).port}/`)).error.message).toMatch(
        /loopback/,
      );
      expect((await post(`${receiver.origin}/`)).error.message).toMatch(/must use https/);
      const info = (await (await fetch(`${plain.opsUrl}/gonka/info`)).json()) as Json;
      expect(info.features.webhooks).toBe(true);
    } finally {
      await plain.close();
    }
    expect(receiver.hits).toEqual([]);
  });
});
