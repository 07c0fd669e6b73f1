import { resolve } from "node:path";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { mountAdminRoutes } from "./admin/index.ts";
import type { GatewayOptions } from "./app.ts";
import { admission } from "./auth/admission.ts";
import { authenticate } from "./auth/authenticate.ts";
import type { GatewayConfig } from "./config/schema.ts";
import { createJobs, type JobEventSink, type JobsWiring, jobsOpenApi } from "./jobs/index.ts";
import { createRateLimits, createRedisClient, type RateLimits, redisReady } from "./limits/index.ts";
import {
  createEmbedder,
  memoryEmbeddingModel,
  memoryOpenApi,
  mountMemoryRoutes,
  startMemorySweeper,
} from "./memory/index.ts";
import { sqliteImporter } from "./metering/sqliteImporter.ts";
import { UsageJournal } from "./metering/usageJournal.ts";
import { usageRecorder } from "./metering/usageRecorder.ts";
import { createResponses, responsesOpenApi } from "./responses/index.ts";
import * as responsesTranslator from "./responses/translate/index.ts";
import { modelHealth } from "./routes/health.ts";
import { mountKeyUsageRoute } from "./routes/keyUsage.ts";
import type { ModelRegistry } from "./routing/modelRegistry.ts";
import { createSessions, type Sessions } from "./sessions/index.ts";
import { createKeyCache, type KeyCache, openStore, type Store } from "./store/index.ts";
import { allowlistFromEnv, createWebhooks, type Webhooks, webhooksOpenApi } from "./webhooks/index.ts";

/** What the gateway process needs besides its config, read from the environment. */
export interface ServiceEnv {
  /** GONKA_DATA_DIR: folder of the SQLite file and the usage journals (default `.gonka`). */
  dataDir: string;
  /** GONKA_DATABASE_URL: `postgres://…` (wins over the config's `database.url`); SQLite without either. */
  databaseUrl: string | undefined;
  /** REDIS_URL: shared rate-limit counters; in-process counters without it. */
  redisUrl: string | undefined;
  /** GONKA_ADMIN_KEY: enables `/admin`; without it the admin API is not mounted. */
  adminKey: string | undefined;
  /** GONKA_ENGINE_API_KEY: the engines' API key, sent on every upstream request. */
  engineApiKey: string | undefined;
  /** GONKA_WEBHOOK_ALLOWLIST: hosts/CIDRs webhooks may reach (replaces `webhooks.allowlist`). */
  webhookAllowlist?: string[] | undefined;
  /** GONKA_WEBHOOK_SECRET_KEY: encrypts webhook signing secrets in the store when set. */
  webhookSecretKey?: string | undefined;
}

export function serviceEnv(env: NodeJS.ProcessEnv): ServiceEnv {
  return {
    dataDir: resolve(env["GONKA_DATA_DIR"] || ".gonka"),
    databaseUrl: env["GONKA_DATABASE_URL"] || undefined,
    redisUrl: env["REDIS_URL"] || undefined,
    adminKey: env["GONKA_ADMIN_KEY"] || undefined,
    engineApiKey: env["GONKA_ENGINE_API_KEY"] || undefined,
    webhookAllowlist: allowlistFromEnv(env),
    webhookSecretKey: env["GONKA_WEBHOOK_SECRET_KEY"] || undefined,
  };
}

export interface Services {
  store: Store;
  keyCache: KeyCache;
  limits: RateLimits;
  redis: Redis | undefined;
  sessions: Sessions;
  jobs: JobsWiring;
  /** Webhook endpoints and delivery; `webhooks.sink` is the JobEventSink for the async-jobs worker. */
  webhooks: Webhooks;
  /** The parts of createGateway's options these services provide. */
  gatewayOptions(
    registry: () => ModelRegistry,
  ): Pick<
    GatewayOptions,
    | "authenticate"
    | "admit"
    | "onOutcome"
    | "mount"
    | "sessionModel"
    | "sessions"
    | "jobs"
    | "responses"
    | "responsesTranslator"
    | "engineApiKey"
    | "notReady"
    | "apiRoutes"
    | "features"
    | "openApiDocuments"
    | "metricsRegistries"
  >;
  close(): Promise<void>;
}

/** Opens the store, connects Redis (if configured) and builds the request-path steps over them. */
export async function startServices(
  config: GatewayConfig,
  env: ServiceEnv,
  log: Logger,
  extras: {
    /**
     * Builds the receiver of job events (the webhooks outbox) over the opened store; without
     * it, jobs emit no events and a request naming a webhook is refused.
     */
    jobEventSink?: (store: Store, log: Logger) => JobEventSink;
  } = {},
): Promise<Services> {
  const fsync = config.metering.fsync === "row";
  const databaseUrl = env.databaseUrl ?? config.database.url;
  // Migrations run here, under a lock; a schema newer than this gateway knows stops it (SchemaTooNew).
  const db = await openStore({
    dataDir: env.dataDir,
    databaseUrl,
    log,
    ...(fsync ? { synchronous: "FULL" } : {}),
  });
  // Usage rows go through this process's write-ahead journal: on disk before the response
  // ends, imported in batches; journals of dead processes sharing the folder are replayed.
  // On SQLite the batched imports run in a worker thread (sqliteImporter.ts), off the event loop.
  const importer =
    db.dialect === "sqlite"
      ? sqliteImporter({ file: db.location, ...(fsync ? { synchronous: "FULL" } : {}) })
      : undefined;
  const ledger = importer ? { ...db.usage, recordMany: importer.recordMany } : db.usage;
  const usage = await UsageJournal.open(
    ledger,
    {
      dataDir: env.dataDir,
      fsync,
      flushIntervalMs: config.metering.importIntervalMs,
      ...(importer ? { importSegment: importer.importFile } : {}),
    },
    log,
  );
  const store: Store = { ...db, usage };
  const keyCache = createKeyCache(store.keys);
  // Key changes made anywhere (every replica, with Postgres) drop the cached entry at once.
  const unsubscribe = store.onKeyChange((keyId) =>
    keyId === null ? keyCache.clear() : keyCache.invalidate(keyId),
  );
  let redis: Redis | undefined;
  if (env.redisUrl) {
    redis = createRedisClient(env.redisUrl, { logger: log });
    // Wait briefly so a fail-closed gateway does not refuse its first requests; serve anyway if Redis is slow.
    await redisReady(redis, 3_000).catch((err: Error) =>
      log.warn(
        { redis: redactUrl(env.redisUrl!), reason: err.message },
        "Redis not reachable yet; serving by the failure policy",
      ),
    );
  }
  const limits = createRateLimits({ redis, failurePolicy: config.rateLimits.failurePolicy, logger: log });
  const tierNames = new Set(Object.keys(config.tiers));
  const sessions = createSessions(store.sessions, config, log);
  const webhooks = createWebhooks({
    repo: store.webhooks,
    config: config.webhooks,
    allowlist: env.webhookAllowlist,
    secretKey: env.webhookSecretKey,
    log,
  });
  // Job events go to the webhooks outbox (a test may hand its own sink).
  const jobs = createJobs({
    repo: store.jobs,
    keys: store.keys,
    config,
    log,
    sink: extras.jobEventSink?.(store, log) ?? webhooks.sink,
  });
  // Memory needs a store with memory tables (Postgres: pgvector) and a configured embedding model.
  const memoryModel = memoryEmbeddingModel(config);
  const memory = memoryModel ? store.memory : undefined;
  const stopSweeper = memory ? startMemorySweeper(memory, config.memory.sweepIntervalMs, log) : undefined;
  log.info(
    {
      store: store.location,
      dialect: store.dialect,
      migrationsApplied: store.migrationsApplied,
      redis: env.redisUrl ? redactUrl(env.redisUrl) : null,
      admin: Boolean(env.adminKey),
      memory: memory ? { embeddingModel: memoryModel } : false,
    },
    "services ready",
  );
  return {
    store,
    keyCache,
    limits,
    redis,
    sessions,
    jobs,
    webhooks,
    gatewayOptions(registry) {
      return {
        sessions,
        jobs,
        // A response chain is a session of the same store (gateway/responses/chain.ts).
        responses: createResponses(store.sessions, config, log),
        // llama.cpp has no /v1/responses: its models' requests are translated to chat completions.
        responsesTranslator,
        authenticate: authenticate(keyCache, tierNames),
        admit: admission(limits, config.tiers, log),
        onOutcome: usageRecorder(store.usage, log),
        sessionModel: (keyId, sessionId, alias) => store.usage.lastServed(keyId, sessionId, alias),
        engineApiKey: env.engineApiKey,
        features: { memory: memory !== undefined, webhooks: true },
        openApiDocuments: {
          jobs: jobsOpenApi,
          webhooks: webhooksOpenApi,
          responses: responsesOpenApi,
          ...(memory ? { memory: memoryOpenApi } : {}),
        },
        metricsRegistries: [webhooks.registry],
        apiRoutes: (router, deps) => {
          mountKeyUsageRoute(router, deps.auth, store);
          webhooks.mount(router, deps.auth, deps.body);
          if (!memory) return;
          mountMemoryRoutes(router, {
            memory,
            config: config.memory,
            modelId: memoryModel!,
            auth: deps.auth,
            body: deps.body,
            admit: deps.admit,
            registry: deps.registry,
            embed: createEmbedder({
              registry: deps.registry,
              model: config.memory.embeddingModel,
              onOutcome: deps.onOutcome,
              replicaCooldownMs: deps.replicaCooldownMs,
              engineApiKey: deps.engineApiKey,
            }),
          });
        },
        notReady: async () => {
          try {
            await store.ping();
            return [];
          } catch (err) {
            return [`store unreachable: ${(err as Error).message}`];
          }
        },
        ...(env.adminKey
          ? {
              mount: (router, parts) =>
                mountAdminRoutes(router, {
                  routing: { routers: config.routers, models: config.models, aliases: () => parts.aliases },
                  adminKey: env.adminKey!,
                  store,
                  keyCache,
                  tiers: config.tiers,
                  modelNames: new Set(config.models.flatMap((m) => [m.id, ...m.aliases])),
                  modelStatus: () => modelHealth(registry(), { details: true }),
                  log,
                }),
            }
          : {}),
      };
    },
    async close() {
      // Normally stopped by the gateway's shutdown already; a no-op then.
      await jobs.stop(0);
      await webhooks.close();
      await sessions.close();
      await stopSweeper?.();
      await limits.close();
      redis?.disconnect();
      unsubscribe();
      await usage.close();
      await importer?.close();
      await db.close();
    },
  };
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
