import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import Router from "@koa/router";
import Koa, { type Middleware } from "koa";
import type { Logger } from "pino";
import type { GatewayConfig } from "./config/schema.ts";
import { errors } from "./errors.ts";
import { createLogger } from "./logger.ts";
import { createGatewayMetrics } from "./metrics/gatewayMetrics.ts";
import { accessLog } from "./middleware/accessLog.ts";
import { errorHandler } from "./middleware/errorHandler.ts";
import { jsonBody } from "./middleware/jsonBody.ts";
import { requestId } from "./middleware/requestId.ts";
import { routeModel } from "./middleware/routeModel.ts";
import type { Endpoint, OutcomeSink } from "./outcome.ts";
import { proxyHandler } from "./proxy/proxyHandler.ts";
import { mountHealthRoutes } from "./routes/health.ts";
import { type Features, mountInfoRoute } from "./routes/info.ts";
import { mountModelRoutes } from "./routes/models.ts";
import { HealthProber } from "./routing/healthProber.ts";
import { ModelRegistry } from "./routing/modelRegistry.ts";
import type { GatewayState } from "./state.ts";

type Step = Middleware<GatewayState>;

export interface GatewayOptions {
  readonly config: GatewayConfig;
  readonly log?: Logger;
  /** Receives one outcome per proxied request (metering). */
  readonly onOutcome?: OutcomeSink;
  /** Runs before routing on proxied endpoints: API-key authentication. */
  readonly authenticate?: Step;
  /** Runs after routing, before the upstream call: model allow-lists and rate limits. */
  readonly admit?: Step;
  /** Mounts extra routes (the admin API) on the gateway's router. */
  readonly mount?: (router: Router<GatewayState>) => void;
  /** Start periodic health probes (tests may drive probes by hand). */
  readonly probe?: boolean;
  /**
   * The API key engines were started with (vLLM `--api-key`, llama-server `--api-key`),
   * from GONKA_ENGINE_API_KEY: sent on every request to an engine. Clients' own
   * `Authorization`/`api-key` headers are never forwarded.
   */
  readonly engineApiKey?: string | undefined;
  /** Extensions this instance offers beyond what the options above imply (sessions, memory…). */
  readonly features?: Partial<Features>;
}

export interface Gateway {
  readonly app: Koa<GatewayState>;
  readonly registry: ModelRegistry;
  readonly prober: HealthProber;
  readonly log: Logger;
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes everything. */
  shutdown(graceMs?: number): Promise<void>;
  inFlight(): number;
}

const PROXIED: ReadonlyArray<[string, Endpoint]> = [
  ["/v1/chat/completions", "chat.completions"],
  ["/v1/completions", "completions"],
  ["/v1/embeddings", "embeddings"],
];

export function createGateway(options: GatewayOptions): Gateway {
  const { config } = options;
  const log = options.log ?? createLogger(config.logLevel);
  const registry = new ModelRegistry(config);
  const prober = new HealthProber(registry, config.healthIntervalMs, log, options.engineApiKey);
  let shuttingDown = false;
  let inFlight = 0;
  let server: Server | undefined;
  const metrics = createGatewayMetrics(registry, () => inFlight);
  const record = options.onOutcome;
  const onOutcome: OutcomeSink = record
    ? (o) => {
        record(o);
        metrics.observe(o);
      }
    : metrics.observe;

  const app = new Koa<GatewayState>({ proxy: true });
  // Errors are logged by errorHandler; Koa's default handler would print stacks to stderr.
  app.silent = true;
  const router = new Router<GatewayState>();
  mountHealthRoutes(router, registry, () => shuttingDown);
  mountModelRoutes(router, registry);
  router.get("/metrics", async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  mountInfoRoute(router, registry, {
    api_keys: options.authenticate !== undefined,
    rate_limits: options.admit !== undefined,
    admin: options.mount !== undefined,
    sessions: false,
    memory: false,
    async_jobs: false,
    webhooks: false,
    tiering: false,
    ...options.features,
  });
  options.mount?.(router);

  const body = jsonBody(config.bodyLimitBytes);
  const proxyOptions = {
    reasoningOutput: config.reasoningOutput,
    replicaCooldownMs: config.replicaCooldownMs,
    onOutcome,
    log,
    engineApiKey: options.engineApiKey,
  };
  for (const [path, endpoint] of PROXIED) {
    const steps: Step[] = [body];
    if (options.authenticate) steps.push(options.authenticate);
    steps.push(routeModel(endpoint, registry));
    if (options.admit) steps.push(options.admit);
    steps.push(proxyHandler(endpoint, proxyOptions));
    router.post(path, ...steps);
  }

  app.use(requestId());
  app.use(accessLog(log));
  app.use(errorHandler(log));
  app.use(async function drainGuard(ctx, next) {
    if (shuttingDown && !ctx.path.startsWith("/healthz") && !ctx.path.startsWith("/readyz")) {
      throw errors.shuttingDown();
    }
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
    }
  });
  app.use(router.routes());
  app.use(router.allowedMethods());

  return {
    app,
    registry,
    prober,
    log,
    inFlight: () => inFlight,
    async listen(port = config.listen.port, host = config.listen.host) {
      server = app.listen(port, host);
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      await new Promise<void>((resolve, reject) => {
        server!.once("listening", resolve);
        server!.once("error", reject);
      });
      if (options.probe !== false) prober.start();
      const address = server.address() as AddressInfo;
      return `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
    },
    async shutdown(graceMs = config.shutdownGraceMs) {
      shuttingDown = true;
      const closed = server
        ? new Promise<void>((resolve) => server!.close(() => resolve()))
        : Promise.resolve();
      server?.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      server?.closeAllConnections();
      await closed;
      await prober.stop();
      await registry.close();
    },
  };
}
