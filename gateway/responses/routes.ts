/**
 * `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}`, `POST /v1/responses/{id}/cancel` and
 * `GET /v1/responses/{id}/input_items` over the chains kept by the state step (chain.ts).
 * Another key's response is not found (404), like an unknown one, so ids do not leak.
 */
import type { Router } from "@koa/router";
import type { Middleware } from "koa";
import type { TierConfig } from "../config/schema.ts";
import { errors } from "../errors.ts";
import type { GatewayState } from "../state.ts";
import type { SessionRepository } from "../store/index.ts";
import { isEntry, locate, notFound, type ResponseEntry } from "./chain.ts";

type Step = Middleware<GatewayState>;

export interface ResponseRoutesDeps {
  repo: SessionRepository;
  tiers: Record<string, TierConfig>;
}

export function mountResponseRoutes(
  router: Router<GatewayState>,
  auth: readonly Step[],
  deps: ResponseRoutesDeps,
) {
  const { repo } = deps;
  const find = async (keyId: string, id: string) => {
    const found = await locate(repo, keyId, id);
    if (!found) throw notFound(id, "response_id");
    return found;
  };

  router.get("/v1/responses/:id", ...auth, async (ctx) => {
    const { entries, index } = await find(ctx.state.key!.id, ctx.params["id"]!);
    ctx.body = entries[index]!.response;
  });

  router.post("/v1/responses/:id/cancel", ...auth, async (ctx) => {
    await find(ctx.state.key!.id, ctx.params["id"]!);
    // Every stored response is already finished (no background mode): vLLM's and OpenAI's answer.
    throw errors.invalidRequest(
      "Cannot cancel a synchronous response. Only background responses can be cancelled, and this gateway does not run any.",
      "response_id",
      "response_not_cancellable",
    );
  });

  router.delete("/v1/responses/:id", ...auth, async (ctx) => {
    const key = ctx.state.key!;
    const id = ctx.params["id"]!;
    const { sessionId } = await find(key.id, id);
    const ttlMs = deps.tiers[key.tier]!.sessionTtlSeconds * 1000;
    const lease = { token: ctx.state.requestId, ms: 10_000 };
    const { messages } = await repo.begin({ keyId: key.id, id: sessionId, ttlMs, lease });
    let done = false;
    try {
      const entries = messages.filter(isEntry);
      const index = entries.findIndex((e) => e.id === id && e.response !== null);
      if (index < 0) throw notFound(id, "response_id");
      const rest = entries.slice(index + 1);
      if (rest.length === 0 && entries.slice(0, index).every((e) => e.response === null)) {
        // Nothing else of the chain is live: the session goes with it.
        await repo.release(key.id, sessionId, lease.token);
        done = true;
        await repo.delete(key.id, sessionId);
      } else {
        // Later responses continue from it, so its items stay as their context; it is no
        // longer retrievable. The last response of a chain is removed outright.
        const entry = entries[index]!;
        const tombstone: ResponseEntry = {
          object: entry.object,
          id: entry.id,
          input: entry.input,
          ...(entry.prefix ? { prefix: entry.prefix } : {}),
          response: null,
        };
        const kept =
          rest.length > 0 ? [{ ...tombstone, output: entry.response!["output"] ?? [] }, ...rest] : [];
        await repo.commit({
          keyId: key.id,
          id: sessionId,
          token: lease.token,
          keep: index,
          append: kept as unknown as Record<string, unknown>[],
          usage: null,
          ttlMs,
        });
        done = true;
      }
    } finally {
      if (!done) await repo.release(key.id, sessionId, lease.token).catch(() => {});
    }
    ctx.body = { id, object: "response", deleted: true };
  });

  router.get("/v1/responses/:id/input_items", ...auth, async (ctx) => {
    const id = ctx.params["id"]!;
    const { entries, index } = await find(ctx.state.key!.id, id);
    const query = parseQuery(ctx.query);
    let items = listedItems(entries[index]!, id);
    if (query.order === "desc") items = items.reverse();
    if (query.after !== undefined) {
      const at = items.findIndex((i) => i["id"] === query.after);
      if (at < 0)
        throw errors.invalidRequest(`No input item with id '${query.after}' in this response.`, "after");
      items = items.slice(at + 1);
    }
    const page = items.slice(0, query.limit);
    ctx.body = {
      object: "list",
      data: page,
      first_id: page[0]?.["id"] ?? null,
      last_id: page.at(-1)?.["id"] ?? null,
      has_more: items.length > page.length,
    };
  });
}

function parseQuery(q: Record<string, string | string[] | undefined>) {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const limitRaw = one(q["limit"]);
  const limit = limitRaw === undefined ? 20 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw errors.invalidRequest("`limit` must be an integer from 1 to 100.", "limit");
  }
  const order = one(q["order"]) ?? "desc";
  if (order !== "asc" && order !== "desc")
    throw errors.invalidRequest("`order` must be `asc` or `desc`.", "order");
  const after = one(q["after"]);
  return { limit, order, after };
}

/**
 * The request's own input items (not the earlier context), in OpenAI's listing shape: every
 * item has an id (the client's, or one derived from the response id and its position) and
 * messages carry content parts.
 */
function listedItems(entry: ResponseEntry, responseId: string): Record<string, unknown>[] {
  const suffix = responseId.slice("resp_".length);
  return entry.input.map((item, i) => {
    const id = typeof item["id"] === "string" ? item["id"] : `item_${suffix}_${i}`;
    const type = (item["type"] as string | undefined) ?? "message";
    if (type !== "message") return { ...item, id };
    const role = item["role"];
    const content =
      typeof item["content"] === "string"
        ? [{ type: role === "assistant" ? "output_text" : "input_text", text: item["content"] }]
        : item["content"];
    return { ...item, type, id, content, ...(role === "assistant" ? {} : { status: "completed" }) };
  });
}
