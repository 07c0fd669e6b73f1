/**
 * Property-based fuzzing of a running gateway process: 5,000 generated malformed requests
 * (fixed seed, so a failure replays) on the API and operational listeners. Every answer is
 * an OpenAI error object or a valid success, none is a 5xx (no request reaches a backend),
 * the process stays up, and no usage row or key appears. `npm run fuzz` runs longer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient } from "../../../harness/adminClient.ts";
import type { SpawnedGateway } from "../../../harness/spawnGateway.ts";
import { ADMIN_KEY, type ProcessFixture, startProcessFixture } from "../processFixture.ts";
import { runFuzz, servedNames } from "./runFuzz.ts";

const RUNS = 5_000;
const SEED = 20_261_202;

let fx: ProcessFixture;
let gw: SpawnedGateway;
let apiKey: string;

beforeAll(async () => {
  fx = await startProcessFixture({ preset: "qwen3-32b" });
  gw = await fx.startGateway();
  ({ secret: apiKey } = await fx.createKey(gw, { name: "fuzz", tier: "enterprise" }));
});
afterAll(() => fx?.close());

describe("fuzzing the gateway", () => {
  it(`answers ${RUNS} malformed requests in OpenAI's shape, never 5xx, and stays up without side effects`, async () => {
    const ran = await runFuzz(
      { apiUrl: gw.url, opsUrl: gw.opsUrl },
      { apiKey, servedNames: servedNames(fx.configPath) },
      { runs: RUNS, seed: SEED },
    );
    expect(ran).toBe(RUNS);
    expect(gw.child.exitCode).toBeNull();
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    const admin = adminClient(gw.opsUrl, ADMIN_KEY);
    const usage = (await admin("GET", "/admin/usage")) as { data: { requests: number }[] };
    expect(usage.data).toEqual([]);
    const keys = (await admin("GET", "/admin/keys")) as { data: unknown[] };
    expect(keys.data).toHaveLength(1);
  }, 180_000);
});
