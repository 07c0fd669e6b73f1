/**
 * `/v1/memory`: namespaced items per API key with semantic search. Every route runs after
 * authentication and scopes every read and write to the caller's key, so another key's
 * items answer 404 exactly like absent ones (ids do not leak).
 */
import type Router from "@koa/router";
import type { Middleware } from "koa";
import type { MemoryConfig } from "../config/schema.ts";
import { errors, GatewayError } from "../errors.ts";
import type { ModelRegistry } from "../routing/modelRegistry.ts";
import type { GatewayState } from "../state.ts";
import { QuotaExceeded } from "../store/errors.ts";
import type { Embed } from "./embedder.ts";
import type { MemoryItem, MemoryRepository } from "./types.ts";
import { checkName, parseListQuery, parsePut, parseSearch } from "./validate.ts";

type Step = Middleware<GatewayState>;

export interface MemoryRouteOptions {
  memory: MemoryRepository;
  config: MemoryConfig;
  embed: Embed;
  /** The embedding model's id (the config may name an alias): stored embeddings from another are recomputed. */
  modelId: string;
  /** Authentication, then the JSON body reader (PUT and search). */
  auth: Step[];
  body: Step;
  /**
   * The key's model allow-lists and rate limits, applied to the routes that may call the
   * embedding model (PUT and search) as to a client's own `/v1/embeddings`.
   */
  admit?: Step | undefined;
  registry: ModelRegistry;
  now?: () => number;
}

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

/** The item as clients see it: no embedding (kilobytes they did not ask for), Unix seconds. */
export function itemObject(item: MemoryItem): Record<string, unknown> {
  return {
    object: "memory.item",
    namespace: item.namespace,
    key: item.key,
    value: item.value,
    metadata: item.metadata,
    created_at: seconds(item.createdAt),
    updated_at: seconds(item.updatedAt),
    expires_at: seconds(item.expiresAt),
  };
}

const notFound = (namespace: string, key: string) =>
  new GatewayError({
    status: 404,
    type: "not_found_error",
    code: "memory_item_not_found",
    param: "key",
    message: `No memory item \`${key}\` in namespace \`${namespace}\`.`,
  });

export function mountMemoryRoutes(router: Router<GatewayState>, opts: MemoryRouteOptions): void {
  const { memory, config, embed, auth, body } = opts;
  const now = opts.now ?? Date.now;
  const quotaOf = (tier: string | undefined) => (tier && config.quotas[tier]) || config.defaultQuota;
  const path = "/v1/memory/:namespace/:key";
  // Admission reads the routed request: the embedding model and the text it may embed.
  const routeEmbedding = (field: "value" | "query"): Step =>
    async function routeEmbedding(ctx, next) {
      const pool = opts.registry.resolve(config.embeddingModel);
      if (!pool) throw errors.modelNotFound(config.embeddingModel);
      const body = (ctx.state.body ?? {}) as Record<string, unknown>;
      ctx.state.route = { requested: config.embeddingModel, pool, body: { input: body[field] } };
      await next();
    };
  const admitted = (field: "value" | "query"): Step[] =>
    opts.admit ? [routeEmbedding(field), opts.admit] : [];

  router.put(path, ...auth, body, ...admitted("value"), async (ctx) => {
    const keyId = ctx.state.key!.id;
    const namespace = checkName(ctx.params["namespace"], "namespace");
    const key = checkName(ctx.params["key"], "key");
    const quota = quotaOf(ctx.state.key!.tier);
    const input = parsePut(ctx.state.body, quota);
    const at = now();
    // Unchanged text keeps its embedding: no model call, no usage row.
    const existing = await memory.get(keyId, namespace, key, at);
    // A full namespace refuses a new item before its text is embedded (no wasted model
    // call); the store checks again in the write's transaction, which is what holds.
    if (!existing && (await memory.count(keyId, namespace, at)) >= quota.itemsPerNamespace) {
      throw QuotaExceeded.namespaceFull(namespace, quota.itemsPerNamespace);
    }
    let embedding = existing?.embedding;
    let model = existing?.embeddingModel;
    if (!existing || existing.value !== input.value || model !== opts.modelId) {
      const fresh = await embed(input.value, ctx.state, "value");
      embedding = fresh.vector;
      model = fresh.model;
    }
    const { created, item } = await memory.put({
      keyId,
      namespace,
      key,
      value: input.value,
      metadata: input.metadata,
      embedding: embedding!,
      embeddingModel: model,
      expiresAt: input.ttlSeconds === null ? null : at + input.ttlSeconds * 1000,
      now: at,
      maxItems: quota.itemsPerNamespace,
    });
    ctx.status = created ? 201 : 200;
    ctx.body = itemObject(item);
  });

  router.get(path, ...auth, async (ctx) => {
    const namespace = checkName(ctx.params["namespace"], "namespace");
    const key = checkName(ctx.params["key"], "key");
    const item = await memory.get(ctx.state.key!.id, namespace, key, now());
    if (!item) throw notFound(namespace, key);
    ctx.body = itemObject(item);
  });

  router.delete(path, ...auth, async (ctx) => {
    const namespace = checkName(ctx.params["namespace"], "namespace");
    const key = checkName(ctx.params["key"], "key");
    if (!(await memory.delete(ctx.state.key!.id, namespace, key, now()))) throw notFound(namespace, key);
    ctx.body = { object: "memory.item.deleted", namespace, key, deleted: true };
  });

  router.get("/v1/memory/:namespace", ...auth, async (ctx) => {
    const namespace = checkName(ctx.params["namespace"], "namespace");
    const { limit, after } = parseListQuery(ctx.query);
    const page = await memory.list(ctx.state.key!.id, namespace, {
      limit,
      now: now(),
      ...(after === undefined ? {} : { after }),
    });
    ctx.body = {
      object: "list",
      data: page.items.map(itemObject),
      has_more: page.nextCursor !== null,
      next_cursor: page.nextCursor,
    };
  });

  router.post("/v1/memory/:namespace/search", ...auth, body, ...admitted("query"), async (ctx) => {
    const namespace = checkName(ctx.params["namespace"], "namespace");
    const input = parseSearch(ctx.state.body);
    const query = await embed(input.query, ctx.state, "query");
    const hits = await memory.search({
      keyId: ctx.state.key!.id,
      namespace,
      query: query.vector,
      topK: input.topK,
      filter: input.filter,
      now: now(),
    });
    ctx.body = {
      object: "list",
      data: hits.map((h) => ({ ...itemObject(h.item), score: h.score })),
      model: query.model,
      usage: { prompt_tokens: query.promptTokens, total_tokens: query.promptTokens },
    };
  });
}
