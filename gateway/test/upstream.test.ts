/**
 * Upstream behaviour the simulator cannot show, against a scripted loopback engine, with
 * the default config: 503 with Retry-After, stale keep-alive sockets, the engine API key.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { createGateway, type Gateway, type GatewayOptions } from "../app.ts";
import { parseConfig } from "../config/load.ts";
import { generationTimeoutMs } from "../config/schema.ts";
import { createLogger } from "../logger.ts";
import type { RequestOutcome } from "../outcome.ts";
import { UPSTREAM_KEEP_ALIVE_MS } from "../routing/replicaPool.ts";
import { post } from "./fixtures.ts";
import { CHAT_ANSWER, type ScriptedEngine, startScriptedEngine } from "./scriptedEngine.ts";

const chat = { model: "m", messages: [{ role: "user", content: "hi" }] };
let engine: ScriptedEngine | undefined;
let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.shutdown(500);
  await engine?.close();
  gateway = undefined;
  engine = undefined;
});

async function start(
  opts: Parameters<typeof startScriptedEngine>[0],
  gatewayOptions: Pick<GatewayOptions, "engineApiKey" | "onOutcome"> = {},
): Promise<string> {
  engine = await startScriptedEngine(opts);
  const config = parseConfig({ models: [{ id: "m", replicas: [{ url: engine.url }] }] });
  gateway = createGateway({ config, log: createLogger("silent"), probe: false, ...gatewayOptions });
  return gateway.listen(0, "127.0.0.1");
}

describe("upstream calls (default config)", () => {
  it("a backend 503 stays 503 with the engine's Retry-After when retries run out", async () => {
    const url = await start({
      reply: () => ({
        status: 503,
        headers: { "retry-after": "7" },
        body: JSON.stringify({ error: { message: "overloaded", type: "ServiceUnavailable", code: 503 } }),
      }),
    });
    const res = await post(`${url}/v1/chat/completions`, chat);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("7");
    const body = (await res.json()) as { error: { code: string; type: string; message: string } };
    expect(body.error).toMatchObject({ code: "backend_unavailable", type: "service_unavailable" });
    expect(body.error.message).toMatch(/overloaded/);
  });

  it("retries a request on a fresh connection when the engine had closed the pooled one", async () => {
    const url = await start({ idleCloseMs: 100 });
    for (let i = 0; i < 3; i++) {
      const res = await post(`${url}/v1/chat/completions`, chat);
      expect(res.status, await res.text()).toBe(200);
      await sleep(150); // idle past the engine's timeout, below the gateway's keep-alive
    }
    expect(engine!.resets).toBeGreaterThanOrEqual(2);
    // The replica was not blamed for it.
    expect(gateway!.registry.resolve("m")!.replicas[0]!.lastError).toBeNull();
  });

  it("an answer cut off mid-body ends in a 502 and a recorded failure, and the next request is served", async () => {
    const outcomes: RequestOutcome[] = [];
    let calls = 0;
    const url = await start(
      {
        reply: () =>
          ++calls === 1
            ? { status: 200, body: CHAT_ANSWER, cutAfterBytes: 40 }
            : { status: 200, body: CHAT_ANSWER },
      },
      { onOutcome: (o) => outcomes.push(o) },
    );
    const cut = await post(`${url}/v1/chat/completions`, chat);
    expect(cut.status).toBe(502);
    expect(((await cut.json()) as { error: { code: string } }).error.code).toBe("upstream_error");
    const whole = await post(`${url}/v1/chat/completions`, chat);
    expect(whole.status).toBe(200);
    expect(await whole.json()).toEqual(JSON.parse(CHAT_ANSWER));
    expect(outcomes.map((o) => [o.status, o.errorCode, o.usage?.promptTokens ?? null])).toEqual([
      [502, "upstream_error", null],
      [200, null, 3],
    ]);
  });

  it("keeps upstream connections idle for less than the engines' 5 s idle timeout", () => {
    for (const ms of Object.values(UPSTREAM_KEEP_ALIVE_MS)) expect(ms).toBeLessThan(5_000);
  });

  it("sends GONKA_ENGINE_API_KEY to the engine and never the client's own credentials", async () => {
    const url = await start({}, { engineApiKey: "engine-secret-1" });
    const res = await post(`${url}/v1/chat/completions`, chat, {
      authorization: "Bearer client-key",
      "api-key": "client-key-2",
    });
    expect(res.status).toBe(200);
    const [seen] = engine!.requests.filter((r) => r.path === "/v1/chat/completions");
    expect(seen!.headers["authorization"]).toBe("Bearer engine-secret-1");
    expect(JSON.stringify(seen!.headers)).not.toMatch(/client-key/);
    await gateway!.prober.probeAll();
    const probe = engine!.requests.find((r) => r.path === "/health")!;
    expect(probe.headers["authorization"]).toBe("Bearer engine-secret-1");
  });

  it("without an engine key, sends no Authorization at all", async () => {
    const url = await start({});
    await post(`${url}/v1/chat/completions`, chat, { authorization: "Bearer client-key" });
    expect(engine!.requests[0]!.headers["authorization"]).toBeUndefined();
  });

  it("budgets a non-streamed generation for the whole context at a slow decode rate", () => {
    const k25 = parseConfig({
      models: [{ id: "k", contextLength: 262_144, replicas: [{ url: "http://127.0.0.1:1" }] }],
    }).models[0]!;
    // 120 s first byte + 262,144 tokens at 10 tokens/s.
    expect(generationTimeoutMs(k25)).toBe(120_000 + 26_214_400);
    expect(generationTimeoutMs({ ...k25, timeouts: { ...k25.timeouts, generationMs: 5_000 } })).toBe(5_000);
  });
});
