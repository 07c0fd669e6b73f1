import type { IncomingMessage, ServerResponse } from "node:http";
import { SimError } from "../errors.ts";
import { parseFaults } from "../faults.ts";
import { readBody, readJsonObject, sendJson } from "../http.ts";
import { compileScript, parseScriptText, resetScriptStats, scriptStats } from "../script.ts";
import { emptyStats, type SimState } from "../state.ts";

/** Snapshot served at `GET /sim/stats`; `cpu` lets a benchmark measure the simulator's own cost. */
export function statsSnapshot(state: SimState) {
  return {
    ...state.stats,
    byPath: { ...state.stats.byPath },
    running: state.scheduler.running,
    waiting: state.scheduler.waiting,
    cpu: process.cpuUsage(),
    /** Per-rule hits and unmatched requests of the active script; null without one. */
    script: scriptStats(state.script),
  };
}

/** `GET /sim/script`: the active rules (as parsed, defaults filled in), or null. */
function scriptView(state: SimState) {
  const script = state.script;
  return { script: script ? { strict: script.strict, rules: script.rules.map((r) => r.rule) } : null };
}

/** Test-only control plane under `/sim/`; answers in plain JSON, not in the engine's error shape. */
export async function handleAdmin(state: SimState, path: string, req: IncomingMessage, res: ServerResponse) {
  const method = req.method ?? "GET";
  try {
    if (path === "/sim/dcgm" && method === "GET") {
      // A simulated dcgm-exporter for this engine's GPUs (point a replica's gpuMetricsUrl here).
      res.writeHead(200, { "content-type": state.metrics.contentType });
      res.end(await state.metrics.gpuText());
      return;
    }
    if (path === "/sim/faults") {
      if (method === "GET") return sendJson(res, 200, state.faults.list());
      if (method === "DELETE") {
        state.faults.clear();
        return sendJson(res, 200, state.faults.list());
      }
      if (method === "POST" || method === "PUT") {
        const text = await readBody(req);
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          throw new SimError(400, "fault set must be JSON");
        }
        let parsed: ReturnType<typeof parseFaults>;
        try {
          parsed = parseFaults(value);
        } catch (err) {
          throw new SimError(400, (err as Error).message);
        }
        state.faults.set(parsed.faults, parsed.seed);
        return sendJson(res, 200, state.faults.list());
      }
    } else if (path === "/sim/script") {
      if (method === "GET") return sendJson(res, 200, scriptView(state));
      if (method === "DELETE") {
        state.script = undefined;
        return sendJson(res, 200, scriptView(state));
      }
      if (method === "POST" || method === "PUT") {
        // YAML or JSON (YAML reads both); the running script stays when the new one is invalid.
        const text = await readBody(req);
        try {
          state.script = compileScript(parseScriptText(text));
        } catch (err) {
          throw new SimError(400, (err as Error).message);
        }
        return sendJson(res, 200, scriptView(state));
      }
    } else if (path === "/sim/health") {
      if (method === "GET") return sendJson(res, 200, { healthy: state.healthy });
      if (method === "POST") {
        const body = await readJsonObject(req);
        if (typeof body["healthy"] !== "boolean")
          throw new SimError(400, 'body must be {"healthy": boolean}');
        state.healthy = body["healthy"];
        return sendJson(res, 200, { healthy: state.healthy });
      }
    } else if (path === "/sim/stats") {
      if (method === "GET") return sendJson(res, 200, statsSnapshot(state));
    } else if (path === "/sim/stats/reset") {
      if (method === "POST") {
        state.stats = emptyStats();
        resetScriptStats(state.script);
        return sendJson(res, 200, statsSnapshot(state));
      }
    } else {
      return sendJson(res, 404, { error: `unknown admin path ${path}` });
    }
    return sendJson(res, 405, { error: `${method} not allowed on ${path}` });
  } catch (err) {
    const status = err instanceof SimError ? err.status : 500;
    return sendJson(res, status, { error: (err as Error).message });
  }
}
