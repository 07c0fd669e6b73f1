import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback proxy between an agent framework and the gateway that records every model call:
 * what the framework sent and what came back (streamed or not), without changing a byte. It is
 * what makes reports framework-agnostic: Python CrewAI and OpenClaw's CLI are recorded the same
 * way as the in-process TypeScript agents.
 */

export interface RecordedToolCall {
  name: string;
  /** Parsed JSON when the arguments parse, else the raw string. */
  arguments: unknown;
}

export interface RecordedStep {
  index: number;
  path: string;
  stream: boolean;
  status: number;
  /** Messages in the request, and the last one's role: what the model was answering. */
  messages: number;
  lastRole: string;
  toolsOffered: string[];
  content: string;
  toolCalls: RecordedToolCall[];
  finishReason: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  latencyMs: number;
  /** Time to the first response byte. */
  ttfbMs: number;
  sessionId: string | null;
  requestId: string | null;
  /** The error message of an error answer, or of a stream that broke. */
  error: string | null;
}

export interface Recorder {
  /** Base URL for clients: `<proxy origin>/v1`. */
  readonly baseUrl: string;
  readonly steps: RecordedStep[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

function parseArgs(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Reassembles a chat completion (content, tool calls, finish, usage) from its SSE frames. */
export function foldSse(text: string): { body: Json; error: string | null; done: boolean } {
  let content = "";
  let finish: string | null = null;
  let usage: Json | null = null;
  let error: string | null = null;
  let done = false;
  const calls: { name: string; args: string }[] = [];
  for (const frame of text.split(/\r?\n\r?\n/)) {
    const data = frame
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trimStart())
      .join("\n");
    if (!data) continue;
    if (data === "[DONE]") {
      done = true;
      continue;
    }
    let event: Json;
    try {
      event = JSON.parse(data) as Json;
    } catch {
      continue;
    }
    if (event["error"]) error = String((event["error"] as Json)["message"] ?? JSON.stringify(event["error"]));
    if (event["usage"]) usage = event["usage"] as Json;
    const choice = (event["choices"] as Json[] | undefined)?.[0];
    if (!choice) continue;
    const delta = (choice["delta"] ?? {}) as Json;
    if (typeof delta["content"] === "string") content += delta["content"];
    for (const tc of (delta["tool_calls"] as Json[] | undefined) ?? []) {
      const i = typeof tc["index"] === "number" ? tc["index"] : calls.length;
      calls[i] ??= { name: "", args: "" };
      const fn = (tc["function"] ?? {}) as Json;
      if (typeof fn["name"] === "string") calls[i]!.name += fn["name"];
      if (typeof fn["arguments"] === "string") calls[i]!.args += fn["arguments"];
    }
    if (choice["finish_reason"]) finish = String(choice["finish_reason"]);
  }
  const toolCalls = calls.filter(Boolean).map((c) => ({ function: { name: c.name, arguments: c.args } }));
  const message = { content, tool_calls: toolCalls };
  return { body: { choices: [{ message, finish_reason: finish }], usage }, error, done };
}

function describe(
  body: Json | undefined,
  reqBody: Json,
  meta: Omit<
    RecordedStep,
    | "content"
    | "toolCalls"
    | "finishReason"
    | "promptTokens"
    | "completionTokens"
    | "messages"
    | "lastRole"
    | "toolsOffered"
  >,
): RecordedStep {
  const messages = Array.isArray(reqBody["messages"]) ? (reqBody["messages"] as Json[]) : [];
  const tools = Array.isArray(reqBody["tools"]) ? (reqBody["tools"] as Json[]) : [];
  const choice = (body?.["choices"] as Json[] | undefined)?.[0];
  const message = (choice?.["message"] ?? {}) as Json;
  const usage = (body?.["usage"] ?? null) as Json | null;
  const calls = (message["tool_calls"] as Json[] | undefined) ?? [];
  return {
    ...meta,
    messages: messages.length,
    lastRole: String(messages[messages.length - 1]?.["role"] ?? ""),
    toolsOffered: tools.map((t) => String((t["function"] as Json | undefined)?.["name"] ?? "")),
    content: typeof message["content"] === "string" ? message["content"] : "",
    toolCalls: calls.map((c) => {
      const fn = (c["function"] ?? {}) as Json;
      return { name: String(fn["name"] ?? ""), arguments: parseArgs(String(fn["arguments"] ?? "")) };
    }),
    finishReason: choice?.["finish_reason"] ? String(choice["finish_reason"]) : null,
    promptTokens: typeof usage?.["prompt_tokens"] === "number" ? usage["prompt_tokens"] : null,
    completionTokens: typeof usage?.["completion_tokens"] === "number" ? usage["completion_tokens"] : null,
  };
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the recorder in front of `upstream` (the gateway's origin, without `/v1`). */
export async function startRecorder(upstream: string): Promise<Recorder> {
  const steps: RecordedStep[] = [];
  const origin = upstream.replace(/\/+$/, "");

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const raw = await readAll(req);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === "string" && !["host", "connection", "content-length", "accept-encoding"].includes(k))
        headers[k] = v;
    }
    const controller = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    let upstreamRes: Response;
    try {
      upstreamRes = await fetch(`${origin}${req.url ?? "/"}`, {
        method: req.method ?? "GET",
        headers,
        ...(raw.length > 0 ? { body: raw } : {}),
        signal: controller.signal,
      });
    } catch (err) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: {
            message: `recorder: upstream unreachable: ${(err as Error).message}`,
            type: "upstream_error",
            param: null,
            code: null,
          },
        }),
      );
      return;
    }
    const ttfbMs = performance.now() - started;
    const out: Record<string, string> = {};
    upstreamRes.headers.forEach((v, k) => {
      if (!["content-length", "content-encoding", "transfer-encoding", "connection"].includes(k)) out[k] = v;
    });
    res.writeHead(upstreamRes.status, out);
    const chunks: Buffer[] = [];
    let broken: string | null = null;
    try {
      if (upstreamRes.body) {
        for await (const chunk of upstreamRes.body) {
          const buf = Buffer.from(chunk);
          chunks.push(buf);
          res.write(buf);
        }
      }
      res.end();
    } catch (err) {
      broken = `stream broke: ${(err as Error).message}`;
      res.destroy();
    }
    const record = req.method === "POST" && /\/chat\/completions$/.test(req.url ?? "");
    if (!record) return;
    let reqBody: Json = {};
    try {
      reqBody = JSON.parse(raw.toString("utf8")) as Json;
    } catch {}
    const text = Buffer.concat(chunks).toString("utf8");
    const stream = (upstreamRes.headers.get("content-type") ?? "").includes("text/event-stream");
    let body: Json | undefined;
    let error = broken;
    if (stream) {
      const folded = foldSse(text);
      body = folded.body;
      error ??= folded.error ?? (folded.done ? null : "stream ended without [DONE]");
    } else {
      try {
        body = JSON.parse(text) as Json;
      } catch {}
      if (upstreamRes.status >= 400)
        error ??= String(((body?.["error"] ?? {}) as Json)["message"] ?? text.slice(0, 300));
    }
    steps.push(
      describe(body, reqBody, {
        index: steps.length + 1,
        path: req.url ?? "",
        stream,
        status: upstreamRes.status,
        latencyMs: Math.round(performance.now() - started),
        ttfbMs: Math.round(ttfbMs),
        sessionId: headerOf(req, "x-session-id"),
        requestId: upstreamRes.headers.get("x-request-id"),
        error,
      }),
    );
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    steps,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function headerOf(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return typeof v === "string" ? v : null;
}
