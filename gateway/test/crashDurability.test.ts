import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post } from "./fixtures.ts";
import { until } from "./poll.ts";
import { type ProcessFixture, startProcessFixture } from "./processFixture.ts";

let fx: ProcessFixture;

beforeAll(async () => {
  fx = await startProcessFixture({
    preset: "qwen3-32b",
    config: (c) => ({
      ...c,
      tiers: { bulk: { requestsPerMinute: 100_000, tokensPerMinute: 100_000_000, concurrentRequests: 100 } },
    }),
  });
});
afterAll(() => fx?.close());

describe("usage survives a SIGKILL", () => {
  it("every response that completed with 200 has exactly one usage row after the gateway is killed under load", async () => {
    const gw = await fx.startGateway();
    const { secret } = await fx.createKey(gw, { name: "crash", tier: "bulk" });
    const completed: string[] = [];
    let stop = false;
    const worker = async (i: number) => {
      while (!stop) {
        const body = {
          model: "qwen3-32b",
          max_tokens: 8,
          stream: i % 2 === 0,
          messages: [{ role: "user", content: `n${i}` }],
        };
        try {
          const res = await post(`${gw.url}/v1/chat/completions`, body, {
            authorization: `Bearer ${secret}`,
          });
          const text = await res.text();
          const complete = body.stream ? text.trimEnd().endsWith("data: [DONE]") : text.endsWith("}");
          if (res.status === 200 && complete) completed.push(res.headers.get("x-request-id")!);
        } catch {
          // The connection died with the gateway: this response did not complete.
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, i) => worker(i));
    await until(() => completed.length >= 100, "load under way");
    gw.kill("SIGKILL");
    stop = true;
    await Promise.all(workers);
    await gw.exited;
    expect(completed.length).toBeGreaterThan(50);

    // The restarted gateway first replays what the killed one journaled.
    const restarted = await fx.startGateway();
    const db = new Database(join(fx.dir, "data", "gateway.sqlite"), { readonly: true });
    const rows = db.prepare("SELECT request_id, status FROM usage_rows").all() as {
      request_id: string;
      status: number;
    }[];
    db.close();
    const okRows = new Set(rows.filter((r) => r.status === 200).map((r) => r.request_id));
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(rows.length);
    const missing = completed.filter((id) => !okRows.has(id));
    expect(missing).toEqual([]);
    // A row may exist for a response the kill cut off on the wire (it was written just before
    // the last bytes), never more than the requests in flight at the kill.
    expect(okRows.size - completed.length).toBeGreaterThanOrEqual(0);
    expect(okRows.size - completed.length).toBeLessThanOrEqual(8);

    const res = await fetch(`${restarted.opsUrl}/admin/usage?group_by=key`, {
      headers: { authorization: "Bearer test-admin-key-0123456789abcdef" },
    });
    const usage = (await res.json()) as { data: { requests: number }[] };
    expect(usage.data[0]!.requests).toBe(rows.length);
  });
});
