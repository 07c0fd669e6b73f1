import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import Router from "@koa/router";
import Koa, { type Middleware } from "koa";
import compose from "koa-compose";
import type { Logger } from "pino";
import { Registry } from "prom-client";
import type { GatewayConfig } from "./config/schema.ts";
import { PROXIED_ENDPOINTS } from "./endpoints.ts";
import { errors } from "./errors.ts";
import type { JobsWiring } from "./jobs/index.ts";
import { createLogger } from "./logger.ts";
import { createGatewayMetrics } from "./metrics/gatewayMetrics.ts";
import { accessLog } from "./middleware/accessLog.ts";
import { errorHandler } from "./middleware/errorHandler.ts";
import { jsonBody } from "./middleware/jsonBody.ts";
import { requestId } from "./middleware/requestId.ts";
import { routeModel } from "./middleware/routeModel.ts";
import type { OutcomeSink } from "./outcome.ts";
import { proxyHandler } from "./proxy/proxyHandler.ts";
import { answerRawErrors } from "./rawErrors.ts";
import type { ResponsesWiring } from "./responses/index.ts";
import { responsesStep } from "./responses/stateStep.ts";
import type { ResponsesTranslator } from "./responses/translator.ts";
import { mountModelHealthRoute, mountProbeRoutes } from "./routes/health.ts";
import { type Features, mountInfoRoute } from "./routes/info.ts";
import { mountModelRoutes } from "./routes/models.ts";
import { type Discovery, type KubeApi, startDiscovery } from "./routing/discovery/index.ts";
import { HealthProber } from "./routing/healthProber.ts";
import { ModelRegistry } from "./routing/modelRegistry.ts";
import type { SessionsWiring } from "./sessions/index.ts";
import type { GatewayState } from "./state.ts";
import { type AliasRouter, type AliasRouterDeps, createAliasRouter } from "./tiering/aliasRouter.ts";

type Step = Middleware<GatewayState>;

/** What the gateway built that extra routes may use. */
export interface MountedParts {
  /** The router-alias (tiering) router; undefined without `routers` in the config. */
  readonly aliases: AliasRouter | undefined;
}

/** What a route set mounted on the API listener (`apiRoutes`) builds on. */
export interface ApiRouteDeps {
  readonly registry: ModelRegistry;
  /** Authentication (empty without keys); runs first on every `/v1` route. */
  readonly auth: Step[];
  /** The JSON body reader with the configured size limit. */
  readonly body: Step;
  /** Allow-lists and rate limits; needs `ctx.state.route` set first (absent without keys). */
  readonly admit?: Step | undefined;
  /** Metering and metrics of calls to engines made on a client's behalf. */
  readonly onOutcome: OutcomeSink;
  readonly engineApiKey?: string | undefined;
  readonly replicaCooldownMs: number;
}

export interface GatewayOptions {
  readonly config: GatewayConfig;
  readonly log?: Logger;
  /** Receives one outcome per proxied request (metering). */
  readonly onOutcome?: OutcomeSink;
  /** Runs first on every `/v1` route, before the body is read: API-key authentication. */
  readonly authenticate?: Step;
  /** Runs after routing, before the upstream call: model allow-lists and rate limits. */
  readonly admit?: Step;
  /** Mounts extra `/v1` routes (memory) on the API listener's router. */
  readonly apiRoutes?: (router: Router<GatewayState>, deps: ApiRouteDeps) => void;
  /** OpenAPI documents of extensions, served on the ops listener at `/gonka/openapi/{name}.json`. */
  readonly openApiDocuments?: Readonly<Record<string, object>>;
  /** Metrics of extensions (webhook deliveries), served with the gateway's own at `/metrics`. */
  readonly metricsRegistries?: readonly Registry[];
  /** Mounts extra routes (the admin API) on the operational listener's router. */
  readonly mount?: (router: Router<GatewayState>, parts: MountedParts) => void;
  /** Why the gateway's own dependencies cannot serve (the store); empty when they can. */
  readonly notReady?: () => string[] | Promise<string[]>;
  /** Start periodic health probes (tests may drive probes by hand). */
  readonly probe?: boolean;
  /**
   * The API key engines were started with (vLLM `--api-key`, llama-server `--api-key`),
   * from GONKA_ENGINE_API_KEY: sent on every request to an engine. Clients' own
   * `Authorization`/`api-key` headers are never forwarded.
   */
  readonly engineApiKey?: string | undefined;
  /** Tiering: the model that last answered a key's session through a router alias (the usage ledger). */
  readonly sessionModel?: AliasRouterDeps["sessionModel"];
  /** Server-side sessions: X-Session-Id on chat completions and `/v1/sessions` (needs `authenticate`). */
  readonly sessions?: SessionsWiring;
  /** Async jobs: `Prefer: respond-async` on chat completions, `/v1/jobs` (needs `authenticate`). */
  readonly jobs?: JobsWiring;
  /** Stored responses (`store`, `previous_response_id`, `/v1/responses/{id}`); stateless without it. */
  readonly responses?: ResponsesWiring;
  /** `/v1/responses` for llama.cpp-served models (`gateway/responses/translate/`); refused without it. */
  readonly responsesTranslator?: ResponsesTranslator;
  /** Extensions this instance offers beyond what the options above imply (sessions, memory…). */
  readonly features?: Partial<Features>;
  /** The Kubernetes API, required when a model discovers its replicas (`models[].discovery`). */
  readonly kubeApi?: KubeApi;
  /** Retry and watch timing of discovery (tests shorten it). */
  readonly discoveryTiming?: Parameters<typeof startDiscovery>[3];
}

export interface Gateway {
  /** The API listener's app: `/v1/*`, `/healthz`, `/readyz`. */
  readonly app: Koa<GatewayState>;
  /** The operational listener's app: `/metrics`, `/health/models`, `/gonka/info`, `/admin/*`. */
  readonly opsApp: Koa<GatewayState>;
  readonly registry: ModelRegistry;
  readonly prober: HealthProber;
  readonly log: Logger;
  /** Starts the API listener (and the health probes); resolves with its origin. */
  listen(port?: number, host?: string): Promise<string>;
  /** Starts the operational listener; resolves with its origin. */
  listenOps(port?: number, host?: string): Promise<string>;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes everything. */
  shutdown(graceMs?: number): Promise<void>;
  inFlight(): number;
}

export function createGateway(options: GatewayOptions): Gateway {
  const { config } = options;
  const log = options.log ?? createLogger(config.logLevel);
  const registry = new ModelRegistry(config);
  const prober = new HealthProber(registry, config.healthIntervalMs, log, options.engineApiKey);
  const discovered = registry.pools.filter((p) => p.discovery);
  if (discovered.length > 0 && !options.kubeApi) {
    throw new Error(
      `models ${discovered.map((p) => p.model.id).join(", ")} discover their replicas from Kubernetes, but no Kubernetes API was given`,
    );
  }
  let discovery: Discovery | undefined;
  let shuttingDown = false;
  let inFlight = 0;
  const servers: Server[] = [];
  const metrics = createGatewayMetrics(registry, () => inFlight);
  const record = options.onOutcome;
  const onOutcome: OutcomeSink = record
    ? (o) => {
        record(o);
        metrics.observe(o);
      }
    : metrics.observe;
  // Like a controller waiting for its informers' first sync: a gateway that has never listed
  // a model's pods would answer every request for it with 503, so it takes no traffic yet.
  // Once listed, a failing watch keeps the last known pods and only /health/models says so.
  const notDiscovered = () =>
    discovered
      .filter((p) => !p.discovery!.synced)
      .map(
        (p) =>
          `${p.model.id}: engine pods not discovered yet (${p.discovery!.source}${p.discovery!.lastError ? `: ${p.discovery!.lastError}` : ""})`,
      );
  const notReady = async () => [
    ...(shuttingDown ? ["draining"] : []),
    ...notDiscovered(),
    ...((await options.notReady?.()) ?? []),
  ];

  // The API listener: what the Ingress exposes. Every /v1 route authenticates first.
  const api = new Router<GatewayState>();
  mountProbeRoutes(api, notReady);
  const auth: Step[] = options.authenticate ? [options.authenticate] : [];
  mountModelRoutes(api, registry, auth);
  const body = jsonBody(config.bodyLimitBytes);
  const proxyOptions = {
    reasoningOutput: config.reasoningOutput,
    replicaCooldownMs: config.replicaCooldownMs,
    onOutcome,
    log,
    engineApiKey: options.engineApiKey,
    responsesTranslator: options.responsesTranslator,
  };
  // Tiering: router aliases (`auto`) pick a model per request by the config's rules.
  const aliases =
    config.routers.length > 0
      ? createAliasRouter(config.routers, config.tiers, {
          registry,
          onOutcome,
          replicaCooldownMs: config.replicaCooldownMs,
          engineApiKey: options.engineApiKey,
          log,
          ...(options.sessionModel ? { sessionModel: options.sessionModel } : {}),
        })
      : undefined;
  // The proxied endpoints carry nearly all the traffic: each gets its chain composed once, found
  // by exact path (hotRoutes below) instead of @koa/router testing every route's pattern and
  // composing the matched chain again on each request. The router keeps the same routes for
  // every other spelling (a trailing slash, another case) and method (its 405s).
  const hot = new Map<string, Step>();
  for (const { endpoint, path } of PROXIED_ENDPOINTS) {
    // Authentication before the body: a keyless client cannot make us read 8 MiB for its 401.
    const steps: Step[] = [...auth, body, routeModel(endpoint, registry, aliases)];
    if (options.admit) steps.push(options.admit);
    if (options.jobs && endpoint === "chat.completions") steps.push(options.jobs.acceptStep);
    if (options.sessions && endpoint === "chat.completions") steps.push(options.sessions.chatStep);
    if (endpoint === "responses") steps.push(options.responses?.step ?? responsesStep({ log }));
    steps.push(proxyHandler(endpoint, proxyOptions));
    api.post(path, ...steps);
    hot.set(path, compose(steps));
  }
  options.sessions?.mount(api, auth, body);
  // A job runs the chat path after admission (it was admitted when accepted).
  options.jobs?.attach({
    steps: [
      routeModel("chat.completions", registry, aliases),
      proxyHandler("chat.completions", proxyOptions),
    ],
    registry: metrics.registry,
  });
  options.jobs?.mount(api, auth);
  options.responses?.mount(api, auth);
  options.apiRoutes?.(api, {
    registry,
    auth,
    body,
    admit: options.admit,
    onOutcome,
    engineApiKey: options.engineApiKey,
    replicaCooldownMs: config.replicaCooldownMs,
  });

  // The operational listener: metrics, per-model health, info, admin. Never on the API port.
  const ops = new Router<GatewayState>();
  mountProbeRoutes(ops, notReady);
  mountModelHealthRoute(ops, registry);
  const exposed = options.metricsRegistries?.length
    ? Registry.merge([metrics.registry, ...options.metricsRegistries])
    : metrics.registry;
  ops.get("/metrics", async (ctx) => {
    ctx.type = exposed.contentType;
    ctx.body = await exposed.metrics();
  });
  mountInfoRoute(
    ops,
    registry,
    {
      api_keys: options.authenticate !== undefined,
      rate_limits: options.admit !== undefined,
      admin: options.mount !== undefined,
      sessions: options.sessions !== undefined,
      memory: false,
      async_jobs: options.jobs !== undefined,
      webhooks: false,
      tiering: config.routers.length > 0,
      ...options.features,
    },
    config.routers,
  );
  options.sessions?.mountOps(ops);
  options.mount?.(ops, { aliases });
  for (const [name, document] of Object.entries(options.openApiDocuments ?? {})) {
    ops.get(`/gonka/openapi/${name}.json`, (ctx) => {
      ctx.body = document;
    });
  }

  const drainGuard: Step = async function drainGuard(ctx, next) {
    // server.close() ends only the connections idle at that moment. One that becomes idle
    // later (a stream that began before the drain) would stay open for the keep-alive
    // timeout, and a client reusing it would reach a process about to exit: once draining,
    // every finished response ends its connection.
    ctx.res.once("finish", () => {
      if (shuttingDown) ctx.req.socket.end();
    });
    if (shuttingDown) ctx.set("Connection", "close");
    if (shuttingDown && ctx.path !== "/healthz" && ctx.path !== "/readyz") throw errors.shuttingDown();
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
    }
  };
  const build = (router: Router<GatewayState>, exact?: ReadonlyMap<string, Step>) => {
    const app = new Koa<GatewayState>({ proxy: true });
    // Errors are logged by errorHandler; Koa's default handler would print stacks to stderr.
    app.silent = true;
    app.use(requestId());
    app.use(accessLog(log));
    app.use(errorHandler(log));
    app.use(drainGuard);
    if (exact) app.use(hotRoutes(exact));
    app.use(router.routes());
    // Sets 405/501 without a body; errorHandler turns them into OpenAI errors.
    app.use(router.allowedMethods());
    return app;
  };
  const app = build(api, hot);
  const opsApp = build(ops);

  const start = async (koa: Koa<GatewayState>, port: number, host: string) => {
    const server = koa.listen(port, host);
    answerRawErrors(server);
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
    const address = server.address() as AddressInfo;
    return `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
  };

  return {
    app,
    opsApp,
    registry,
    prober,
    log,
    inFlight: () => inFlight,
    async listen(port = config.listen.port, host = config.listen.host) {
      const url = await start(app, port, host);
      await options.jobs?.start();
      if (options.probe !== false) prober.start();
      if (options.kubeApi && discovered.length > 0) {
        discovery ??= startDiscovery(registry, options.kubeApi, log, options.discoveryTiming);
      }
      return url;
    },
    listenOps(port = config.opsListen.port, host = config.opsListen.host) {
      return start(opsApp, port, host);
    },
    async shutdown(graceMs = config.shutdownGraceMs) {
      shuttingDown = true;
      const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const s of servers) s.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      for (const s of servers) s.closeAllConnections();
      await Promise.all(closed);
      await options.jobs?.stop(Math.max(0, deadline - Date.now()));
      await prober.stop();
      await discovery?.stop();
      await registry.close();
      metrics.close();
    },
  };
}

/** POST to one of `routes`' exact paths runs its chain; anything else goes on to the router. */
function hotRoutes(routes: ReadonlyMap<string, Step>): Step {
  return function hotRoutes(ctx, next) {
    const route = ctx.method === "POST" ? routes.get(ctx.path) : undefined;
    return route ? route(ctx, next) : next();
  };
}
