import { z } from "zod";
import { checkRouters, routerSchema } from "../tiering/schema.ts";
import { webhooksSchema } from "../webhooks/config.ts";

/** Timeouts for one model's upstream calls; slow reasoning models need long first-byte budgets. */
export const timeoutsSchema = z.object({
  /** TCP connect to a replica. */
  connectMs: z.number().int().positive().default(5_000),
  /** From sending the request to the first response byte (includes queueing and prefill). */
  firstByteMs: z.number().int().positive().default(120_000),
  /** Longest silence between two stream chunks, or while reading a non-stream body. */
  idleMs: z.number().int().positive().default(60_000),
  /**
   * Whole-generation budget of a non-streamed request: an engine sends such an answer's
   * headers only when it is complete, so first-byte timing cannot tell a long answer
   * from a stuck one. Default: see generationTimeoutMs().
   */
  generationMs: z.number().int().positive().optional(),
});

/** The slow decode rate the default generation budget assumes (tokens/s; real engines do 20–100). */
export const SLOW_DECODE_TOKENS_PER_SECOND = 10;
/** Context assumed for the default when a model does not say its own. */
const DEFAULT_CONTEXT_TOKENS = 32_768;

/**
 * How long a non-streamed request may take from send to the whole answer: the configured
 * `timeouts.generationMs`, else the first-byte budget plus the model's whole context
 * decoded at SLOW_DECODE_TOKENS_PER_SECOND (K2.5's 256K context: about 7.3 hours), so
 * no answer the model can produce is cut off by the gateway.
 */
export function generationTimeoutMs(model: {
  timeouts: Timeouts;
  contextLength?: number | undefined;
}): number {
  return (
    model.timeouts.generationMs ??
    model.timeouts.firstByteMs +
      Math.ceil(((model.contextLength ?? DEFAULT_CONTEXT_TOKENS) / SLOW_DECODE_TOKENS_PER_SECOND) * 1000)
  );
}

export const replicaSchema = z.object({
  /** Stable id for logs, metrics and usage rows; defaults to the URL. */
  id: z.string().min(1).optional(),
  /** Base URL of an OpenAI-compatible engine, without `/v1`. */
  url: z.url(),
  /** dcgm-exporter (or any Prometheus) endpoint that reports this replica's GPUs. */
  gpuMetricsUrl: z.url().optional(),
});

/**
 * Where a model's replicas come from when they are not listed: on Kubernetes, the
 * EndpointSlices of a headless Service selecting the engine pods (LeaderWorkerSet leaders),
 * watched through the Kubernetes API. Each ready endpoint is one replica.
 */
export const discoverySchema = z.object({
  kind: z.literal("kubernetes"),
  /** Namespace of the headless Service (the gateway needs get/list/watch on endpointslices there). */
  namespace: z.string().min(1),
  /** The Service's name; its EndpointSlices carry the label `kubernetes.io/service-name=<service>`. */
  service: z.string().min(1),
  /** The engine port's name in the EndpointSlice; default: the slice's first port. */
  portName: z.string().min(1).optional(),
});

export const modelSchema = z.object({
  id: z.string().min(1),
  aliases: z.array(z.string().min(1)).default([]),
  engine: z.enum(["vllm", "llamacpp"]).default("vllm"),
  capabilities: z
    .array(z.enum(["chat", "completions", "tools", "reasoning", "vision", "embeddings"]))
    .default(["chat", "completions"]),
  contextLength: z.number().int().positive().optional(),
  costTier: z.enum(["premium", "standard", "economy"]).default("standard"),
  ownedBy: z.string().default("gonka"),
  /** US cents per million tokens (the catalog's prices): the savings report's costs. */
  price: z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() }).optional(),
  /** Field the backend reads reasoning from in assistant messages sent back to it. */
  backendReasoningField: z.enum(["reasoning", "reasoning_content"]).default("reasoning"),
  /** Fixed replicas (docker target, local stack); exactly one of `replicas` and `discovery`. */
  replicas: z.array(replicaSchema).default([]),
  discovery: discoverySchema.optional(),
  timeouts: timeoutsSchema.prefault({}),
  /** Extra attempts on other replicas for failures before the first byte reached the client. */
  maxRetries: z.number().int().min(0).max(5).default(1),
});

/** Session TTL and caps of every built-in tier (and of a configured tier that omits them). */
const SESSION_DEFAULTS = {
  sessionTtlSeconds: 86_400,
  sessionMaxMessages: 1_000,
  sessionMaxBytes: 4 * 1024 * 1024,
} as const;

/** Per-tier limits; enforced by the limits module, read by sessions for their TTL. */
export const tierSchema = z.object({
  requestsPerMinute: z.number().int().positive(),
  tokensPerMinute: z.number().int().positive(),
  concurrentRequests: z.number().int().positive(),
  /** Model ids or aliases this tier may use; absent means all. */
  models: z.array(z.string()).optional(),
  /** Sliding session expiry: a session unused this long is deleted (AGNT-06). */
  sessionTtlSeconds: z.number().int().positive().default(SESSION_DEFAULTS.sessionTtlSeconds),
  /** Most messages one session may hold; a turn that would exceed it is refused (400) before any backend call. */
  sessionMaxMessages: z.number().int().positive().default(SESSION_DEFAULTS.sessionMaxMessages),
  /** Most bytes (stored message JSON) one session may hold, checked like sessionMaxMessages. */
  sessionMaxBytes: z.number().int().positive().default(SESSION_DEFAULTS.sessionMaxBytes),
  /** How long this tier's finished async jobs are kept; absent: `jobs.retentionHours`. */
  jobRetentionHours: z.number().positive().optional(),
});

/** What one API key may keep in `/v1/memory`, per tier. */
export const memoryQuotaSchema = z.object({
  /** Live items in one namespace; a PUT that would add one more is refused (403 insufficient_quota). */
  itemsPerNamespace: z.number().int().positive(),
  /** UTF-8 bytes of an item's `value` plus its JSON `metadata`; more is a 400. */
  bytesPerItem: z.number().int().positive(),
});

export const memorySchema = z.object({
  /**
   * The model (id or alias) that embeds memory items and search queries, called through the
   * gateway's own routing. Memory is off (routes absent, `/gonka/info` memory: false) when no
   * configured model with the `embeddings` capability has this name.
   */
  embeddingModel: z.string().min(1).default("qwen3-embedding-0.6b"),
  /** Quotas per tier name; a key whose tier is not listed gets `defaultQuota`. */
  quotas: z.record(z.string(), memoryQuotaSchema).default({
    free: { itemsPerNamespace: 1_000, bytesPerItem: 16_384 },
    standard: { itemsPerNamespace: 10_000, bytesPerItem: 65_536 },
    enterprise: { itemsPerNamespace: 100_000, bytesPerItem: 262_144 },
  }),
  defaultQuota: memoryQuotaSchema.default({ itemsPerNamespace: 1_000, bytesPerItem: 16_384 }),
  /** How often expired items are deleted (in batches of 500); reads ignore them meanwhile. */
  sweepIntervalMs: z.number().int().positive().default(60_000),
});

export const gatewayConfigSchema = z
  .object({
    listen: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65_535).default(8080),
      })
      .prefault({}),
    /**
     * The operational listener: `/metrics`, `/health/models`, `/gonka/info` and `/admin/*`
     * (admin key still required). Kept off the public API port so an Ingress that routes the
     * API never exposes them; loopback by default, the pod network inside a container.
     */
    opsListen: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65_535).default(8081),
      })
      .prefault({}),
    models: z.array(modelSchema).min(1),
    /** Which field(s) clients get reasoning text in, whatever the backend emits. */
    reasoningOutput: z.enum(["both", "reasoning", "reasoning_content"]).default("both"),
    bodyLimitBytes: z
      .number()
      .int()
      .positive()
      .default(8 * 1024 * 1024),
    /** How often each replica's `/health` is probed. */
    healthIntervalMs: z.number().int().positive().default(5_000),
    /** After a failure, a replica is skipped this long unless a probe brings it back sooner. */
    replicaCooldownMs: z.number().int().positive().default(10_000),
    /** On SIGTERM, in-flight requests get this long to finish. */
    shutdownGraceMs: z.number().int().positive().default(30_000),
    tiers: z.record(z.string(), tierSchema).default({
      free: {
        requestsPerMinute: 60,
        tokensPerMinute: 100_000,
        concurrentRequests: 4,
        ...SESSION_DEFAULTS,
      },
      standard: {
        requestsPerMinute: 600,
        tokensPerMinute: 2_000_000,
        concurrentRequests: 32,
        ...SESSION_DEFAULTS,
      },
      enterprise: {
        requestsPerMinute: 6_000,
        tokensPerMinute: 20_000_000,
        concurrentRequests: 256,
        ...SESSION_DEFAULTS,
      },
    }),
    rateLimits: z
      .object({
        /** When Redis is unreachable: serve without limits (logged) or refuse with 503. */
        failurePolicy: z.enum(["fail-open", "fail-closed"]).default("fail-open"),
      })
      .prefault({}),
    metering: z
      .object({
        /**
         * `off`: an acknowledged usage row survives any crash of the gateway process, not a
         * host crash or power loss. `row`: fdatasync the journal per row (and SQLite commits
         * with synchronous=FULL), so it survives those too, at one disk flush per request.
         */
        fsync: z.enum(["off", "row"]).default("off"),
        /**
         * How often journaled rows are moved into the store (also whenever 500 are waiting),
         * one transaction each. Another replica's rows reach the usage views and tiering's
         * session stickiness this late; a higher value makes fewer, larger transactions.
         */
        importIntervalMs: z.number().int().min(50).max(60_000).default(250),
      })
      .prefault({}),
    database: z
      .object({
        /**
         * `postgres://…`: keys and usage in Postgres, shared by every gateway replica. Unset:
         * the embedded SQLite file in GONKA_DATA_DIR (one host). GONKA_DATABASE_URL wins
         * over this field (deployments pass the URL as a secret in that variable).
         */
        url: z.string().optional(),
      })
      .prefault({}),
    /** Router aliases (`auto`): rules that pick a concrete model per request (tiering). */
    routers: z.array(routerSchema).default([]),
    /** Server-side sessions (X-Session-Id, /v1/sessions); per-tier TTL and caps are in `tiers`. */
    sessions: z
      .object({
        /**
         * A turn holds its session's lock this long, renewed while it runs: a gateway that dies
         * mid-turn leaves a lock that lapses after this, not forever.
         */
        lockLeaseMs: z.number().int().positive().default(30_000),
        /** How often each gateway deletes expired sessions. */
        sweepIntervalMs: z.number().int().positive().default(60_000),
        /** Sessions deleted per sweep transaction (short transactions, no long table locks). */
        sweepBatchSize: z.number().int().positive().default(500),
      })
      .prefault({}),
    memory: memorySchema.prefault({}),
    /** Async jobs (`Prefer: respond-async`, `/v1/jobs`), run by a worker in every gateway. */
    jobs: z
      .object({
        /** Jobs this gateway runs at once; more wait in the store's queue. */
        concurrency: z.number().int().positive().default(4),
        /** Runs of a job (retryable failures: 429, 5xx, a lost replica) before it ends `failed`. */
        maxAttempts: z.number().int().positive().default(3),
        /** How long a finished job (and its completion) is kept; a tier's `jobRetentionHours` wins. */
        retentionHours: z.number().positive().default(24),
        /**
         * A running job's claim lasts this long unless renewed (every third of it): a gateway
         * that dies mid-job lets another one re-run it after at most this.
         */
        leaseMs: z.number().int().positive().default(30_000),
        /** How often an idle worker looks for queued jobs (jobs accepted locally start at once). */
        pollIntervalMs: z.number().int().positive().default(1_000),
        /** Wait before a failed run is retried, doubled on each attempt. */
        retryBackoffMs: z.number().int().nonnegative().default(1_000),
        /** How often expired jobs are deleted and undelivered job events re-emitted. */
        sweepIntervalMs: z.number().int().positive().default(60_000),
      })
      .prefault({}),
    /** Webhook endpoints and deliveries (`/v1/webhooks`): SSRF allow-list, retries, payload cap. */
    webhooks: webhooksSchema.prefault({}),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .superRefine((config, ctx) => {
    config.models.forEach((m, i) => {
      if (m.replicas.length > 0 && m.discovery) {
        ctx.addIssue({
          code: "custom",
          path: ["models", i],
          message: `model ${m.id} has both \`replicas\` and \`discovery\`: list its replicas or discover them, not both`,
        });
      } else if (m.replicas.length === 0 && !m.discovery) {
        ctx.addIssue({
          code: "custom",
          path: ["models", i],
          message: `model ${m.id} has no replicas: give \`replicas\` (at least one URL) or \`discovery\` (a Kubernetes headless Service)`,
        });
      }
    });
    // Every id and alias names one model: the registry, allow-lists and usage rows rely on it.
    const owners = new Map<string, string>();
    config.models.forEach((m, i) => {
      for (const name of new Set([m.id, ...m.aliases])) {
        const owner = owners.get(name);
        if (owner !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["models", i],
            message: `model name "${name}" is used by both ${owner} and ${m.id}`,
          });
        }
        owners.set(name, m.id);
      }
    });
    for (const issue of checkRouters(config.routers, {
      owners,
      chatModels: new Set(config.models.filter((m) => m.capabilities.includes("chat")).map((m) => m.id)),
      tiers: new Set(Object.keys(config.tiers)),
    })) {
      ctx.addIssue({ code: "custom", ...issue });
    }
  });

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type ReplicaConfig = z.infer<typeof replicaSchema>;
export type DiscoveryConfig = z.infer<typeof discoverySchema>;
export type TierConfig = z.infer<typeof tierSchema>;
export type TierConfigInput = z.input<typeof tierSchema>;
export type Timeouts = z.infer<typeof timeoutsSchema>;
export type MemoryConfig = z.infer<typeof memorySchema>;
