import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient } from "../../harness/adminClient.ts";
import { GATEWAY_MAIN, spawnGateway } from "../../harness/spawnGateway.ts";
import { type SpawnedSimulator, spawnSimulator } from "../../sim/spawn.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { type FakeKubeApi, startFakeKubeApi } from "./fakeKubeApi.ts";
import { post } from "./fixtures.ts";
import { until } from "./poll.ts";
import { ADMIN_KEY } from "./processFixture.ts";

// `node gateway/main.ts` itself: how it finds the Kubernetes API from its environment.
let dir: string;
let configPath: string;
let sim: SpawnedSimulator;
let api: FakeKubeApi;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gonka-kube-"));
  const base = buildGatewayConfig({ models: [{ preset: "kimi-k2.5", replicaUrls: ["http://127.0.0.1:9"] }] });
  const models = base.models.map((m) => ({
    ...m,
    replicas: [],
    discovery: { kind: "kubernetes", namespace: "models", service: "kimi-engines" },
  }));
  configPath = join(dir, "gateway.json");
  writeFileSync(configPath, JSON.stringify({ ...base, models, logLevel: "warn" }));
  [sim, api] = await Promise.all([spawnSimulator({ model: "kimi-k2.5" }), startFakeKubeApi("models")]);
});
afterAll(async () => {
  await Promise.all([sim?.stop(), api?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("gateway process with Kubernetes discovery", () => {
  it("refuses to start, saying why, when it has no Kubernetes API to ask", () => {
    const env: NodeJS.ProcessEnv = { ...process.env, GONKA_DATA_DIR: join(dir, "data-refused") };
    for (const name of ["GONKA_KUBE_API_URL", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"])
      delete env[name];
    const run = spawnSync(process.execPath, [GATEWAY_MAIN, "--config", configPath], {
      env,
      encoding: "utf8",
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/not in a pod \(no KUBERNETES_SERVICE_HOST.*GONKA_KUBE_API_URL is not set/);
  });

  it("discovers its pods through GONKA_KUBE_API_URL and serves them", async () => {
    const port = Number(new URL(sim.url).port);
    api.apply({
      metadata: { name: "kimi-engines-x1", labels: { "kubernetes.io/service-name": "kimi-engines" } },
      addressType: "IPv4",
      endpoints: [
        { addresses: ["127.0.0.1"], conditions: { ready: true }, targetRef: { kind: "Pod", name: "kimi-0" } },
      ],
      ports: [{ name: "http", port }],
    });
    const gw = await spawnGateway({
      configPath,
      env: { GONKA_DATA_DIR: join(dir, "data"), GONKA_KUBE_API_URL: api.url, GONKA_ADMIN_KEY: ADMIN_KEY },
    });
    try {
      await until(async () => (await fetch(`${gw.url}/readyz`)).status === 200, "discovered");
      const health = (await (await fetch(`${gw.opsUrl}/health/models`)).json()) as {
        data: { replicas: { id: string }[] }[];
      };
      expect(health.data[0]!.replicas.map((r) => r.id)).toEqual(["kimi-0"]);
      const created = await adminClient(gw.opsUrl, ADMIN_KEY)("POST", "/admin/keys", {
        name: "kube",
        tier: "standard",
      });
      const res = await post(
        `${gw.url}/v1/chat/completions`,
        { model: "kimi-k2.5", max_tokens: 4, messages: [{ role: "user", content: "hi" }] },
        { authorization: `Bearer ${created["secret"] as string}` },
      );
      expect(res.status).toBe(200);
      expect(((await res.json()) as { object: string }).object).toBe("chat.completion");
    } finally {
      await gw.stop();
    }
  });
});
