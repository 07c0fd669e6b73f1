import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SpawnedSimulator, spawnSimulator } from "../../sim/spawn.ts";
import { createGateway, type Gateway } from "../app.ts";
import { buildGatewayConfig } from "../config/fromCatalog.ts";
import { parseConfig } from "../config/load.ts";
import { createLogger } from "../logger.ts";
import type { RequestOutcome } from "../outcome.ts";
import type { EndpointSlice, SliceEndpoint } from "../routing/discovery/endpointSlices.ts";
import { type KubeApi, kubeApiFromEnv } from "../routing/discovery/index.ts";
import { homeReplica } from "../routing/pick.ts";
import type { ModelPool } from "../routing/replicaPool.ts";
import { type FakeKubeApi, startFakeKubeApi } from "./fakeKubeApi.ts";
import { post, readSse, setFaults, simStats } from "./fixtures.ts";
import { until } from "./poll.ts";

// Three simulator processes are the engine pods; a fake API server on loopback serves their
// EndpointSlices; a real gateway in front discovers them. Everything is real HTTP.
const MODEL = "kimi-k2.5";
const SERVICE = "kimi-engines";
let api: FakeKubeApi;
let kube: KubeApi;
let gateway: Gateway;
let url: string;
let opsUrl: string;
let pool: ModelPool;
const sims = new Map<string, SpawnedSimulator>();
const outcomes: RequestOutcome[] = [];
const chat = { model: MODEL, max_tokens: 8, messages: [{ role: "user", content: "hello" }] };

/** The slice the EndpointSlice controller writes for one pod (its own port, so its own slice). */
function podSlice(pod: string, conditions: SliceEndpoint["conditions"] = {}): EndpointSlice {
  const port = Number(new URL(sims.get(pod)!.url).port);
  return {
    metadata: { name: `${SERVICE}-${pod}`, labels: { "kubernetes.io/service-name": SERVICE } },
    addressType: "IPv4",
    endpoints: [
      {
        addresses: ["127.0.0.1"],
        conditions: { ready: true, serving: true, terminating: false, ...conditions },
        targetRef: { kind: "Pod", name: pod, namespace: "models" },
      },
    ],
    ports: [{ name: "http", port, protocol: "TCP" }],
  };
}

const ids = () => pool.replicas.map((r) => r.id).sort();
const servedBy = (res: Response) =>
  outcomes.find((o) => o.requestId === res.headers.get("x-request-id"))?.replica;
interface ModelHealth {
  status: string;
  replicas_draining: number;
  replicas_total: number;
  replicas: { id: string }[];
  discovery: { source: string; synced: boolean; error: string | null };
}
const modelHealth = async () =>
  ((await (await fetch(`${opsUrl}/health/models`)).json()) as { data: ModelHealth[] }).data[0]!;

beforeAll(async () => {
  await Promise.all(
    ["pod-a", "pod-b", "pod-c"].map((name) =>
      spawnSimulator({ model: MODEL, args: ["--tpot-ms", "10"] }).then((s) => sims.set(name, s)),
    ),
  );
  api = await startFakeKubeApi("models");
  // The API refuses at first (as before the stack's RBAC exists).
  api.failWith(403);
  const generated = buildGatewayConfig({ models: [{ preset: MODEL, replicaUrls: ["http://127.0.0.1:9"] }] });
  const config = parseConfig({
    ...generated,
    healthIntervalMs: 200,
    models: generated.models.map((m) => ({
      ...m,
      replicas: [],
      discovery: { kind: "kubernetes", namespace: "models", service: SERVICE, portName: "http" },
    })),
  });
  kube = kubeApiFromEnv({ GONKA_KUBE_API_URL: api.url });
  gateway = createGateway({
    config,
    log: createLogger(process.env["GONKA_TEST_LOG"] ?? "silent"),
    onOutcome: (o) => outcomes.push(o),
    kubeApi: kube,
    discoveryTiming: { backoffMs: 50, maxBackoffMs: 200 },
  });
  url = await gateway.listen(0, "127.0.0.1");
  opsUrl = await gateway.listenOps(0, "127.0.0.1");
  pool = gateway.registry.resolve(MODEL)!;
}, 60_000);

afterAll(async () => {
  await gateway?.shutdown(1_000);
  await kube?.close();
  await api?.close();
  await Promise.all([...sims.values()].map((s) => s.stop()));
});

describe("per-pod routing from Kubernetes EndpointSlices", () => {
  it("answers 503 and stays unready while discovery has never succeeded, then serves once it does", async () => {
    await until(() => api.requests.length >= 2, "the gateway tried the API");
    const res = await post(`${url}/v1/chat/completions`, chat);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("backends_not_discovered");
    expect(body.error.message).toMatch(/not yet found the engine pods serving `kimi-k2.5`/);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reasons: string[] }).reasons).toEqual([
      expect.stringMatching(
        /^kimi-k2\.5: engine pods not discovered yet \(kubernetes models\/kimi-engines: Kubernetes API answered 403 to list endpointslices/,
      ),
    ]);
    const health = await modelHealth();
    expect(health.status).toBe("down");
    expect(health.discovery).toMatchObject({ source: "kubernetes models/kimi-engines", synced: false });
    expect(health.discovery.error).toMatch(/403/);

    api.apply(podSlice("pod-a"));
    api.apply(podSlice("pod-b"));
    api.failWith(null);
    await until(async () => (await fetch(`${url}/readyz`)).status === 200, "ready after discovery");
    expect(ids()).toEqual(["pod-a", "pod-b"]);
    expect((await post(`${url}/v1/chat/completions`, chat)).status).toBe(200);
    const after = await modelHealth();
    expect(after).toMatchObject({
      status: "ok",
      replicas_total: 2,
      discovery: { synced: true, error: null },
    });
    expect(after.replicas.map((r) => r.id)).toEqual(["pod-a", "pod-b"]);
  });

  it("balances per pod, and a new pod takes traffic without a restart", async () => {
    const first = await Promise.all(
      Array.from({ length: 20 }, () => post(`${url}/v1/chat/completions`, chat)),
    );
    const counts = (responses: Response[]) => {
      const c = new Map<string, number>();
      for (const r of responses) c.set(servedBy(r)!, (c.get(servedBy(r)!) ?? 0) + 1);
      return c;
    };
    await Promise.all(first.map((r) => r.text()));
    expect(first.every((r) => r.status === 200)).toBe(true);
    expect(counts(first).get("pod-a")).toBeGreaterThanOrEqual(5);
    expect(counts(first).get("pod-b")).toBeGreaterThanOrEqual(5);

    const before = await simStats(sims.get("pod-c")!);
    api.apply(podSlice("pod-c"));
    await until(() => ids().length === 3, "pod-c joined the pool");
    const second = await Promise.all(
      Array.from({ length: 30 }, () => post(`${url}/v1/chat/completions`, chat)),
    );
    await Promise.all(second.map((r) => r.text()));
    expect(second.every((r) => r.status === 200)).toBe(true);
    expect(counts(second).get("pod-c")).toBeGreaterThanOrEqual(5);
    expect((await simStats(sims.get("pod-c")!)).chat - before.chat).toBe(counts(second).get("pod-c"));
  });

  it("keeps sessions on their pod; a pod that leaves moves only its own sessions, which return with it", async () => {
    const sessions = Array.from({ length: 30 }, (_, i) => `conversation-${i}`);
    const placeAll = async () => {
      const placed = new Map<string, string>();
      for (const s of sessions) {
        const res = await post(
          `${url}/v1/chat/completions`,
          { ...chat, max_tokens: 1 },
          { "x-session-id": s },
        );
        await res.text();
        expect(res.status).toBe(200);
        placed.set(s, servedBy(res)!);
      }
      return placed;
    };
    const home = await placeAll();
    expect(new Set(home.values())).toEqual(new Set(["pod-a", "pod-b", "pod-c"]));
    expect(await placeAll()).toEqual(home);

    api.remove(`${SERVICE}-pod-b`);
    await until(() => ids().length === 2, "pod-b left the pool");
    const without = await placeAll();
    for (const s of sessions) {
      if (home.get(s) === "pod-b") expect(without.get(s)).not.toBe("pod-b");
      else expect(without.get(s)).toBe(home.get(s));
    }

    api.apply(podSlice("pod-b"));
    await until(() => ids().length === 3, "pod-b is back");
    expect(await placeAll()).toEqual(home);
  });

  it("fails over to another pod before the first byte, and the failing pod sits out", async () => {
    const b = sims.get("pod-b")!;
    await setFaults(b, [{ mode: "http_500", count: 1 }]);
    // The session's home is pod-b: the first attempt goes there, meets the 500, moves on.
    let session = "";
    for (let i = 0; !session; i++) {
      if (homeReplica(pool.snapshots(), `fo-${i}`)?.id === "pod-b") session = `fo-${i}`;
    }
    const res = await post(`${url}/v1/chat/completions`, chat, { "x-session-id": session });
    expect(res.status).toBe(200);
    await res.json();
    expect(servedBy(res)).not.toBe("pod-b");
    expect(pool.get("pod-b")!.lastError).toMatch(/HTTP 500/);
    // Back in rotation for the next tests once its probe passes and the cool-down is over.
    pool.get("pod-b")!.downUntil = 0;
  });

  it("fails no request while a pod terminates and leaves under load: streams on it finish, new ones go elsewhere", async () => {
    const leaving = pool.get("pod-a")!;
    const scrape = async () => (await fetch(`${opsUrl}/metrics`)).text();
    expect(await scrape()).toMatch(/gonka_replica_healthy\{model="kimi-k2.5",replica="pod-a"\} 1/);
    // Streams that live on pod-a (sessions whose home it is) and last ~1.5 s (~40 tokens).
    await setFaults(sims.get("pod-a")!, [{ mode: "slow_tokens", ms: 30, stream: true }]);
    const onA: string[] = [];
    for (let i = 0; onA.length < 4; i++) {
      const res = await post(`${url}/v1/chat/completions`, chat, { "x-session-id": `long-${i}` });
      await res.text();
      if (servedBy(res) === "pod-a") onA.push(`long-${i}`);
    }
    const longStreams = onA.map((s) =>
      post(`${url}/v1/chat/completions`, { ...chat, max_tokens: 100, stream: true }, { "x-session-id": s }),
    );
    await until(() => leaving.outstanding === 4, "the long streams reached pod-a");

    // Traffic keeps flowing the whole time: streamed and not, with and without sessions.
    let flowing = true;
    const results: { status: number; done: boolean }[] = [];
    const worker = async (n: number) => {
      for (let i = 0; flowing; i++) {
        const stream = i % 2 === 0;
        try {
          const res = await post(
            `${url}/v1/chat/completions`,
            { ...chat, stream },
            i % 3 === 0 ? { "x-session-id": `w${n}-${i}` } : {},
          );
          const done = stream ? (await readSse(res)).at(-1) === "[DONE]" : Boolean(await res.json());
          results.push({ status: res.status, done });
        } catch {
          results.push({ status: 0, done: false });
        }
      }
    };
    const workers = Array.from({ length: 4 }, (_, n) => worker(n));
    try {
      // As Kubernetes does: the endpoint turns terminating, then leaves its slice, then the pod stops.
      api.apply(podSlice("pod-a", { ready: false, serving: true, terminating: true }));
      await until(() => !ids().includes("pod-a"), "terminating pod-a no longer picked");
      expect(pool.draining.map((r) => r.id)).toEqual(["pod-a"]);
      expect(await modelHealth()).toMatchObject({ replicas_total: 2, replicas_draining: 1 });
      await new Promise((r) => setTimeout(r, 200));
      const aAfterTerminating = (await simStats(sims.get("pod-a")!)).chat;
      api.remove(`${SERVICE}-pod-a`);
      for (const res of await Promise.all(longStreams)) {
        expect(res.status).toBe(200);
        const events = await readSse(res);
        expect(events.at(-1)).toBe("[DONE]");
        expect(events.some((e) => e.startsWith('{"error"'))).toBe(false);
      }
      await until(() => pool.draining.length === 0, "pod-a's connections closed once its streams ended");
      // Nothing new reached pod-a after it turned terminating.
      expect((await simStats(sims.get("pod-a")!)).chat).toBe(aAfterTerminating);
      await sims.get("pod-a")!.stop();
      // A gone pod leaves no per-replica series behind in /metrics.
      const metrics = await scrape();
      expect(metrics).toMatch(/gonka_replica_outstanding_requests\{model="kimi-k2.5",replica="pod-b"\}/);
      expect(metrics).not.toMatch(/replica="pod-a"/);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      // Stop the traffic even when an assertion above failed, so it cannot leak into other tests.
      flowing = false;
      await Promise.all(workers);
    }

    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((r) => r.status !== 200 || !r.done)).toEqual([]);
    expect((await simStats(sims.get("pod-b")!)).chat).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.replica === "pod-a" && o.status !== 200)).toEqual([]);
  });

  it("resumes a watch from the last BOOKMARK without listing again", async () => {
    await until(() => api.openWatches() === 1, "watching");
    const lists = api.requests.filter((r) => !r.searchParams.has("watch")).length;
    api.bookmark();
    const bookmarked = api.version();
    // Nothing observable changes on a bookmark; give it a moment to arrive.
    await new Promise((r) => setTimeout(r, 200));
    const watches = () => api.requests.filter((r) => r.searchParams.has("watch"));
    const before = watches().length;
    api.endWatches("clean");
    await until(() => watches().length > before, "the watch resumed");
    const resumed = watches().at(-1)!;
    expect(resumed.searchParams.get("resourceVersion")).toBe(String(bookmarked));
    expect(resumed.searchParams.get("allowWatchBookmarks")).toBe("true");
    expect(api.requests.filter((r) => !r.searchParams.has("watch")).length).toBe(lists);
  });

  it("lists again after 410 Gone (an ERROR event, or the status on resuming), catching changes it missed", async () => {
    const listCount = () => api.requests.filter((r) => !r.searchParams.has("watch")).length;
    await until(() => api.openWatches() === 1, "watching");
    let lists = listCount();
    api.endWatches("error410");
    await until(() => listCount() === lists + 1 && api.openWatches() === 1, "relisted after an ERROR 410");
    expect(ids()).toEqual(["pod-b", "pod-c"]);

    // The gateway is cut off while pod-c leaves and the history is compacted: its next watch
    // asks for a version the server no longer has, gets 410, and only a list shows the change.
    lists = listCount();
    api.failWith(500);
    api.endWatches("clean");
    api.remove(`${SERVICE}-pod-c`);
    api.compact();
    await until(() => pool.discovery!.lastError !== null, "the failure is seen");
    expect((await modelHealth()).discovery.error).toMatch(/500/);
    expect(ids()).toEqual(["pod-b", "pod-c"]);
    // The last known pods keep serving while the API server is away.
    const during = await post(`${url}/v1/chat/completions`, chat);
    expect(during.status).toBe(200);
    await during.text();
    api.failWith(null);
    await until(() => ids().length === 1, "relisted after 410 on resume");
    expect(ids()).toEqual(["pod-b"]);
    expect(listCount()).toBe(lists + 1);
    const gone = api.requests.filter((r) => r.searchParams.has("watch")).at(-2)!;
    expect(gone.searchParams.get("resourceVersion")).not.toBeNull();
    await until(() => pool.discovery!.lastError === null, "the error clears once watching again");
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });
});
