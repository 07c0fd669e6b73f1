import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { getPreset, type ModelPreset } from "../catalog/index.ts";
import type { ReasoningField } from "./chatRender.ts";
import { SimError } from "./errors.ts";
import {
  type ActiveFaults,
  type Fault,
  FaultInjector,
  type FaultSetInput,
  NO_FAULTS,
  parseFaults,
} from "./faults.ts";
import { checkJsonContentType, readJsonObject, sendError, sendJson } from "./http.ts";
import { SimMetrics } from "./metrics.ts";
import { handleAdmin, statsSnapshot } from "./routes/admin.ts";
import { handleChat } from "./routes/chat.ts";
import { handleCompletions } from "./routes/completions.ts";
import { handleEmbeddings } from "./routes/embeddings.ts";
import { handleHealth, handleMetrics, handleModels, handleVersion, isLoading } from "./routes/info.ts";
import { handleResponses, responseNotFound } from "./routes/responses.ts";
import { Scheduler } from "./scheduler.ts";
import { compileScript, resetScriptStats, type Script } from "./script.ts";
import { type Exchange, emptyStats, type SimState } from "./state.ts";

export interface SimulatorOptions {
  /** Catalog id or alias of the model to act like. */
  model: string;
  /** Time to first token, ms. Default 0. */
  ttftMs?: number;
  /** Time per output token, ms. Default 0. */
  tpotMs?: number;
  /** Requests generated at once (vLLM's max_num_seqs); the rest wait in FIFO order. Default 256. */
  maxConcurrency?: number;
  /** Where reasoning text goes; default from the preset (`reasoning` for vLLM >= 0.16). */
  reasoningField?: ReasoningField;
  /** Simulated model loading after listen: /health is 503 and inference 503 until it ends. */
  loadMs?: number;
  /** Scripted replies (already parsed). */
  script?: Script;
  /** Initial fault set. */
  faults?: readonly Fault[] | FaultSetInput;
  /** Seed for fault probabilities. */
  faultSeed?: number;
  /** Simulated GPUs reported by DCGM_FI_DEV_GPU_UTIL; default from the preset's first layout. */
  gpus?: number;
  /** Simulated KV-cache capacity in tokens; default four full contexts. */
  kvCacheTokens?: number;
}

export type SimulatorStats = ReturnType<typeof statsSnapshot>;

export interface Simulator {
  readonly preset: ModelPreset;
  /** Base URL once listening. */
  readonly url: string | undefined;
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  /** Replaces the active fault set (like `POST /sim/faults`). */
  setFaults(faults: readonly Fault[] | FaultSetInput): void;
  clearFaults(): void;
  setHealthy(healthy: boolean): void;
  /** Replaces the script (like `POST /sim/script`); undefined removes it. */
  setScript(script: Script | undefined): void;
  stats(): SimulatorStats;
  resetStats(): void;
}

type InferenceRoute = (
  state: SimState,
  body: Record<string, unknown>,
  faults: Readonly<ActiveFaults>,
  ex: Exchange,
) => Promise<void>;

const INFERENCE_ROUTES: Record<string, InferenceRoute> = {
  "/v1/chat/completions": handleChat,
  "/v1/completions": handleCompletions,
  "/v1/embeddings": handleEmbeddings,
  "/v1/responses": handleResponses,
};

function createState(options: SimulatorOptions): SimState {
  const preset = getPreset(options.model);
  const layout = preset.layouts[0];
  const gpus = options.gpus ?? (layout ? layout.gpusPerNode * layout.nodes : 1);
  const scheduler = new Scheduler(options.maxConcurrency ?? 256);
  const kvCacheTokens = options.kvCacheTokens ?? preset.contextLength * 4;
  const faults = new FaultInjector(options.faultSeed ?? 1);
  if (options.faults) {
    const parsed = parseFaults(options.faults);
    faults.set(parsed.faults, parsed.seed);
  }
  const state: SimState = {
    preset,
    engine: preset.engine,
    // vLLM serves only --served-model-name; llama-server answers whatever name is sent.
    servedNames: new Set([preset.id]),
    reasoningField: options.reasoningField ?? preset.reasoningField ?? "reasoning",
    ttftMs: options.ttftMs ?? 0,
    tpotMs: options.tpotMs ?? 0,
    scheduler,
    faults,
    metrics: new SimMetrics(
      preset.id,
      gpus,
      layout ? `NVIDIA ${layout.gpuType}` : "NVIDIA GPU",
      {
        running: () => scheduler.running,
        waiting: () => scheduler.waiting,
        kvUsage: () => Math.min(1, state.activeTokens / kvCacheTokens),
        gpuUtil: () =>
          Math.min(100, Math.round((100 * scheduler.running) / Math.min(scheduler.maxConcurrency, 8))),
      },
      preset.engine,
    ),
    script: options.script ? compileScript(options.script) : undefined,
    kvCacheTokens,
    stats: emptyStats(),
    healthy: true,
    readyAt: 0,
    activeTokens: 0,
  };
  return state;
}

async function runInferenceRoute(state: SimState, ex: Exchange, route: InferenceRoute): Promise<void> {
  let faults: Readonly<ActiveFaults> = NO_FAULTS;
  const inFlight = state.scheduler.running + state.scheduler.waiting + 1;
  try {
    if (isLoading(state)) {
      faults = state.faults.select(ex.path, false, inFlight);
      throw new SimError(503, state.engine === "llamacpp" ? "Loading model" : "The model is still loading.");
    }
    let body: Record<string, unknown>;
    try {
      if (state.engine === "vllm") checkJsonContentType(ex.req.headers["content-type"]);
      body = await readJsonObject(ex.req, state.engine);
    } catch (err) {
      faults = state.faults.select(ex.path, false, inFlight);
      throw err;
    }
    faults = state.faults.select(ex.path, body["stream"] === true, inFlight);
    if (faults.httpStatus !== undefined) {
      const fallback =
        faults.httpStatus === 500
          ? "Internal server error (simulated fault)"
          : "Service unavailable (simulated fault)";
      throw new SimError(faults.httpStatus, faults.httpMessage ?? fallback);
    }
    await route(state, body, faults, ex);
  } catch (err) {
    if (ex.signal.aborted) return;
    state.stats.failed++;
    const simErr =
      err instanceof SimError ? err : new SimError(500, `simulator error: ${(err as Error).message}`);
    sendError(ex.res, state.engine, simErr, faults.wrongErrorShape);
  }
}

function notFound(state: SimState, res: ServerResponse, method: boolean): void {
  // vLLM's unknown routes fall through to FastAPI, which answers in its own `detail` shape.
  if (state.engine === "llamacpp") {
    sendJson(res, 404, { error: { code: 404, message: "File Not Found", type: "not_found_error" } });
  } else {
    sendJson(res, method ? 405 : 404, { detail: method ? "Method Not Allowed" : "Not Found" });
  }
}

export function createSimulator(options: SimulatorOptions): Simulator {
  const state = createState(options);
  const created = Math.floor(Date.now() / 1000);
  let url: string | undefined;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    const path = q < 0 ? raw : raw.slice(0, q);
    const method = req.method ?? "GET";
    if (path.startsWith("/sim/")) {
      void handleAdmin(state, path, req, res);
      return;
    }
    state.stats.received++;
    state.stats.byPath[path] = (state.stats.byPath[path] ?? 0) + 1;
    // llama-server has no Responses API: the gateway translates to chat completions for it.
    const route =
      path === "/v1/responses" && state.engine === "llamacpp" ? undefined : INFERENCE_ROUTES[path];
    const stored = state.engine === "vllm" ? /^\/v1\/responses\/([^/]+)(\/cancel)?$/.exec(path) : null;
    if (stored && (stored[2] ? method === "POST" : method === "GET")) {
      sendError(res, state.engine, responseNotFound(decodeURIComponent(stored[1]!)));
      return;
    }
    if (route) {
      if (method !== "POST") {
        notFound(state, res, true);
        return;
      }
      const controller = new AbortController();
      const ex: Exchange = {
        req,
        res,
        path,
        signal: controller.signal,
        startedAt: performance.now(),
        droppedBySim: false,
      };
      res.once("close", () => {
        if (res.writableFinished || ex.droppedBySim) return;
        state.stats.cancelled++;
        controller.abort(new Error("client disconnected"));
      });
      void runInferenceRoute(state, ex, route);
      return;
    }
    if (method !== "GET" && method !== "HEAD") notFound(state, res, true);
    // vLLM 0.20.2 routes /health for GET only: HEAD answers 405 (measured on the reference engine).
    else if (path === "/health" && method === "HEAD" && state.engine === "vllm") notFound(state, res, true);
    else if (path === "/health") handleHealth(state, res);
    else if (path === "/v1/models" || path === "/models") handleModels(state, res, created);
    else if (path === "/metrics") void handleMetrics(state, res);
    else if (path === "/version" && state.engine === "vllm") handleVersion(state, res);
    else if (path === "/props" && state.engine === "llamacpp") handleVersion(state, res);
    else notFound(state, res, false);
  };

  // uvicorn (vLLM) closes idle keep-alive connections after 5 s and does not announce it; a
  // pool that keeps sockets longer can write a request into one being closed. llama-server
  // (cpp-httplib) also closes after 5 s but says so in a Keep-Alive header.
  const server: Server = createServer({ keepAliveTimeout: 5_000, keepAliveTimeoutBuffer: 0 }, (req, res) => {
    // An explicit Connection header stops Node from adding `Keep-Alive: timeout=…`.
    if (state.engine === "vllm" && req.headers.connection !== "close")
      res.setHeader("connection", "keep-alive");
    handle(req, res);
  });

  return {
    preset: state.preset,
    get url() {
      return url;
    },
    listen(port = 0, host = "127.0.0.1") {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          state.readyAt = performance.now() + (options.loadMs ?? 0);
          const addr = server.address() as AddressInfo;
          const shownHost = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
          url = `http://${shownHost}:${addr.port}`;
          resolve(url);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        // Keep-alive and stalled streams would otherwise hold close() open.
        server.closeAllConnections();
      });
    },
    setFaults(faults) {
      const parsed = parseFaults(faults);
      state.faults.set(parsed.faults, parsed.seed);
    },
    clearFaults() {
      state.faults.clear();
    },
    setHealthy(healthy) {
      state.healthy = healthy;
    },
    setScript(script) {
      state.script = script ? compileScript(script) : undefined;
    },
    stats: () => statsSnapshot(state),
    resetStats() {
      state.stats = emptyStats();
      resetScriptStats(state.script);
    },
  };
}
