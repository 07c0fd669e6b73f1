/**
 * Gonka's additions to the OpenAI surface: health, /gonka/info, admin usage,
 * tiering and sessions. Feature-dependent cases skip, printing why, only when
 * /gonka/info reports the feature off (or there is no admin key or admin URL).
 */
import { checkRequestId, jsonBody } from "../lib/checks.ts";
import { FEATURES } from "../lib/gonka.ts";
import { assert, type Case, modelFor } from "./types.ts";

interface ModelHealth {
  model: string;
  status: string;
  queue_depth: number;
  running: number;
  gpu_utilization: number | null;
}

export const extensionCases: Case[] = [
  {
    name: "health: /healthz is up, /readyz is ready, /health/models reports status, queue depth and GPU use per model",
    async run(s) {
      const live = await s.raw("/healthz", { auth: false });
      assert(live.status === 200, `/healthz HTTP ${live.status}`);
      checkRequestId(live.headers);
      await live.body?.cancel();
      const ready = await s.raw("/readyz", { auth: false });
      const readyBody = await ready.text();
      assert(ready.status === 200, `/readyz HTTP ${ready.status}: ${readyBody}`);
      const res = await s.ops("/health/models");
      assert(res.status === 200, `/health/models HTTP ${res.status}`);
      const body = (await jsonBody(res)) as { data: ModelHealth[] };
      for (const m of s.models) {
        const h = body.data.find((x) => x.model === m.id);
        assert(h, `/health/models does not report ${m.id}`);
        assert(["ok", "degraded", "down"].includes(h.status), `${m.id} status ${h.status}`);
        assert(typeof h.queue_depth === "number", `${m.id} has no numeric queue_depth`);
        assert(
          h.gpu_utilization === null || typeof h.gpu_utilization === "number",
          `${m.id} gpu_utilization`,
        );
      }
    },
  },
  {
    name: "public surface: /metrics, /health/models, /gonka/info and /admin are not served on the API listener",
    async run(s, skip) {
      if (s.opsUrl === s.baseUrl) return skip("the target names no separate operational listener (opsUrl)");
      for (const path of ["/metrics", "/health/models", "/gonka/info", "/admin/keys"]) {
        const res = await s.raw(path);
        await res.body?.cancel();
        assert(
          res.status === 404,
          `GET ${path} on the API listener answered HTTP ${res.status}, expected 404`,
        );
      }
    },
  },
  {
    name: "/gonka/info names the gateway version, its features and every listed model's backend",
    async run(s, skip) {
      if (!s.info) return skip(s.infoWhy);
      const info = s.info;
      assert(info.object === "gonka.info", `object ${info.object}`);
      assert(typeof info.version === "string" && info.version.length > 0, "no version");
      for (const f of FEATURES) {
        assert(typeof info.features?.[f] === "boolean", `features.${f} is not a boolean`);
      }
      for (const m of s.models) {
        const b = info.models.find((x) => x.id === m.id);
        assert(b, `/gonka/info does not describe ${m.id}`);
        const versions = b.backend_versions ?? (b.backend_version ? [b.backend_version] : []);
        assert(b.engine, `${m.id} has no engine`);
        assert(
          versions.length > 0 && versions.every((v) => typeof v === "string" && v),
          `${m.id} has no backend version`,
        );
      }
    },
  },
  {
    name: "admin usage: the suite's own requests are metered per key",
    async run(s, skip) {
      const admin = s.feature("admin");
      if (!admin.on) return skip(admin.reason);
      if (!s.admin) return skip("no admin key or admin URL for this target");
      if (!s.ownKeyId)
        return skip("the suite could not make its own key (api_keys off), so it cannot find its usage");
      const model = modelFor(s, "chat", skip);
      await s.client.chat.completions.create({ model, messages: [{ role: "user", content: "meter me" }] });
      const path = `/admin/usage?group_by=key&key_id=${encodeURIComponent(s.ownKeyId)}`;
      // Rows are written when a request finishes; give the writer a moment.
      let last: unknown;
      for (let attempt = 0; attempt < 20; attempt++) {
        last = await s.admin.call("GET", path);
        const rows = ((last as { data?: unknown[] }).data ?? []) as Record<string, unknown>[];
        const mine = rows.filter((r) => Object.values(r).includes(s.ownKeyId));
        if (mine.some((r) => tokensIn(r) > 0)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no usage with tokens for key ${s.ownKeyId}: ${JSON.stringify(last).slice(0, 400)}`);
    },
  },
  {
    name: "sessions: turns sent with only the new messages continue the stored conversation (X-Session-Id, /v1/sessions)",
    async run(s, skip) {
      const sessions = s.feature("sessions");
      if (!sessions.on) return skip(sessions.reason);
      const model = modelFor(s, "chat", skip);
      const created = await s.raw("/v1/sessions", {
        method: "POST",
        body: { metadata: { suite: "conformance" } },
      });
      assert(created.status === 200, `POST /v1/sessions HTTP ${created.status}`);
      const { id } = (await jsonBody(created)) as { id: string };
      assert(typeof id === "string" && id.length > 0, "POST /v1/sessions returned no id");
      const headers = { "x-session-id": id };
      const first = await s.client.chat.completions.create(
        { model, max_tokens: 16, messages: [{ role: "user", content: "Remember the word teal." }] },
        { headers },
      );
      await s.client.chat.completions.create(
        { model, max_tokens: 16, messages: [{ role: "user", content: "Which word?" }] },
        { headers },
      );
      const got = await s.raw(`/v1/sessions/${id}`);
      assert(got.status === 200, `GET /v1/sessions/{id} HTTP ${got.status}`);
      const session = (await jsonBody(got)) as {
        messages: Array<{ role: string; content: unknown }>;
        usage: { requests: number };
        expires_at: number;
      };
      const roles = session.messages.map((m) => m.role).join(",");
      assert(roles === "user,assistant,user,assistant", `stored roles ${roles}`);
      assert(
        session.messages[1]!.content === first.choices[0]!.message.content,
        "first reply not stored as sent",
      );
      assert(session.usage.requests === 2, `usage.requests ${session.usage.requests}`);
      assert(session.expires_at * 1000 > Date.now(), "expires_at is not in the future");
      const del = await s.raw(`/v1/sessions/${id}`, { method: "DELETE" });
      assert(del.status === 200, `DELETE /v1/sessions/{id} HTTP ${del.status}`);
      await del.body?.cancel();
      const gone = await s.raw(`/v1/sessions/${id}`);
      assert(gone.status === 404, `a deleted session answered HTTP ${gone.status}`);
      await gone.body?.cancel();
    },
  },
  {
    name: "async jobs: Prefer: respond-async answers 202 with a job that ends with the completion (/v1/jobs)",
    async run(s, skip) {
      const jobs = s.feature("async_jobs");
      if (!jobs.on) return skip(jobs.reason);
      const model = modelFor(s, "chat", skip);
      const accepted = await s.raw("/v1/chat/completions", {
        method: "POST",
        headers: { prefer: "respond-async" },
        body: { model, max_tokens: 16, messages: [{ role: "user", content: "Say hello." }] },
      });
      assert(accepted.status === 202, `respond-async answered HTTP ${accepted.status}`);
      assert(
        accepted.headers.get("preference-applied") === "respond-async",
        "no Preference-Applied: respond-async",
      );
      const job = (await jsonBody(accepted)) as { id: string; object: string; status: string };
      assert(job.object === "job" && typeof job.id === "string", `not a job: ${JSON.stringify(job)}`);
      assert(accepted.headers.get("location") === `/v1/jobs/${job.id}`, "Location does not name the job");
      const deadline = Date.now() + 120_000;
      let last: { status: string; completion?: { choices?: unknown[] } | null } = job;
      while (!["succeeded", "failed", "cancelled"].includes(last.status)) {
        if (Date.now() > deadline) throw new Error(`job ${job.id} still ${last.status} after 120 s`);
        await new Promise((r) => setTimeout(r, 250));
        const got = await s.raw(`/v1/jobs/${job.id}`);
        assert(got.status === 200, `GET /v1/jobs/{id} HTTP ${got.status}`);
        last = (await jsonBody(got)) as typeof last;
      }
      assert(last.status === "succeeded", `job ended ${last.status}: ${JSON.stringify(last).slice(0, 400)}`);
      assert((last.completion?.choices?.length ?? 0) > 0, "the succeeded job carries no completion");
      const listed = await s.raw("/v1/jobs?limit=5");
      const list = (await jsonBody(listed)) as { data: Array<{ id: string }> };
      assert(
        list.data.some((j) => j.id === job.id),
        "GET /v1/jobs does not list the job",
      );
    },
  },
];

/** Sum of numeric fields whose names mention tokens. */
function tokensIn(row: Record<string, unknown>): number {
  return Object.entries(row)
    .filter(([k, v]) => /tokens/i.test(k) && typeof v === "number")
    .reduce((a, [, v]) => a + (v as number), 0);
}
