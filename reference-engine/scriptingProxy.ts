/**
 * Test equipment between the gateway and the reference vLLM: adds `vllm_xargs.gonka_script`
 * (kimiScript.ts, the simulator's reply planning) to each chat request that has none, so the tiny
 * random model answers like K2.5 would instead of emitting noise. Everything else passes through
 * untouched, both ways: other routes, requests that already carry a script, and every response
 * byte (status, headers, SSE framing) is vLLM's own.
 *
 * Why a proxy rather than rules inside forcing_processor.py: a logits processor sees sampling
 * parameters and token ids, not the conversation (messages, tools, tool_choice, response_format),
 * so rules there would be a second rule engine in Python re-deriving what the simulator's planner
 * already decides; here the planner itself runs and vLLM's request handling stays unmodified.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseResponsesRequest } from "../sim/responsesRequest.ts";
import type { CompiledScript } from "../sim/script.ts";
import { kimiScript } from "./kimiScript.ts";

export interface ScriptingProxy {
  readonly url: string;
  /** Chat requests that got a script from the planner (others passed through as sent). */
  readonly scripted: () => number;
  close(): Promise<void>;
}

export interface ScriptingProxyOptions {
  /** The reference vLLM's base URL. */
  readonly upstream: string;
  /** Simulator script rules to plan replies with (default: the simulator's generator). */
  readonly script?: CompiledScript;
}

const SCRIPT_KEY = "gonka_script";

/**
 * The body to forward: the same bytes unless it is a JSON chat (or Responses API) request without
 * a script. A Responses request is planned as the chat request vLLM builds from it
 * (sim/responsesRequest.ts): its input items as messages, its function tools as chat tools.
 */
function scriptedBody(
  raw: Buffer,
  script: CompiledScript | undefined,
  responses = false,
): Buffer | undefined {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) return undefined;
  const obj = body as Record<string, unknown>;
  const xargs = obj["vllm_xargs"];
  if (xargs !== undefined && (typeof xargs !== "object" || xargs === null || Array.isArray(xargs))) {
    return undefined;
  }
  if (xargs && SCRIPT_KEY in xargs) return undefined;
  let chat: Record<string, unknown> = obj;
  if (responses) {
    try {
      chat = { ...parseResponsesRequest(obj).chat, model: obj["model"] };
    } catch {
      return undefined;
    }
  }
  const text = kimiScript(chat, script);
  if (text === undefined) return undefined;
  return Buffer.from(JSON.stringify({ ...obj, vllm_xargs: { ...xargs, [SCRIPT_KEY]: text } }));
}

/** Raw `[name, value, …]` headers without the hop-by-hop ones Node's server sets itself. */
function endToEnd(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!/^(connection|keep-alive)$/i.test(raw[i]!)) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

export async function startScriptingProxy(opts: ScriptingProxyOptions): Promise<ScriptingProxy> {
  const upstream = new URL(opts.upstream);
  let scripted = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: Buffer = Buffer.concat(chunks);
      const path = req.url?.split("?")[0];
      const isChat = req.method === "POST" && (path === "/v1/chat/completions" || path === "/v1/responses");
      const isJson = /^application\/json\b/i.test(req.headers["content-type"] ?? "");
      const replaced =
        isChat && isJson ? scriptedBody(body, opts.script, path === "/v1/responses") : undefined;
      if (replaced) {
        body = replaced;
        scripted++;
      }
      // Hop-by-hop headers are this hop's: one request per upstream connection, then it closes.
      const headers: Record<string, string | string[] | undefined> = {
        ...req.headers,
        host: upstream.host,
        connection: "close",
      };
      delete headers["transfer-encoding"];
      delete headers["keep-alive"];
      if (body.length > 0 || req.headers["content-length"] !== undefined) {
        headers["content-length"] = String(body.length);
      }
      // A fresh loopback connection per request: uvicorn closes idle keep-alive sockets after
      // 5 s unannounced, and the gateway's own pool (not this hop) is what tests observe. Its
      // `connection: close` answer is this hop's too, so the gateway's connection stays open.
      const up = request(upstream, { method: req.method, path: req.url, headers, agent: false }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, endToEnd(upRes.rawHeaders));
        upRes.pipe(res);
      });
      up.on("error", (err) => {
        if (!res.headersSent) {
          res.writeHead(502, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { message: `reference vLLM: ${err.message}`, type: "proxy" } }));
        } else res.destroy(err);
      });
      // The gateway hung up (client cancelled): hang up on vLLM too, so it aborts the generation.
      res.on("close", () => {
        if (!res.writableFinished) up.destroy();
      });
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    scripted: () => scripted,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
