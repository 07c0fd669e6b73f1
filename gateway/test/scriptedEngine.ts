/**
 * A tiny loopback "engine" over raw TCP for what the simulator cannot show: it records
 * every request's headers, answers each by a script, and can close idle keep-alive
 * connections the way uvicorn does (silently: no Keep-Alive header announces it).
 */
import { createServer, type Socket } from "node:net";

export interface EngineRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface EngineReply {
  status: number;
  headers?: Record<string, string>;
  body: string;
  /** Sends the head (announcing the whole body) and this many body bytes, then resets the connection. */
  cutAfterBytes?: number;
}

export interface ScriptedEngine {
  url: string;
  requests: EngineRequest[];
  /** Connections reset because they were reused after `idleCloseMs` of silence. */
  resets: number;
  close(): Promise<void>;
}

export const CHAT_ANSWER = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: "ok", refusal: null },
      logprobs: null,
      finish_reason: "stop",
    },
  ],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
});

const REASONS: Record<number, string> = {
  200: "OK",
  503: "Service Unavailable",
  500: "Internal Server Error",
};

export async function startScriptedEngine(opts: {
  reply?: (req: EngineRequest) => EngineReply;
  /** A connection reused after this much idle time is reset instead of answered (the stale-socket race). */
  idleCloseMs?: number;
}): Promise<ScriptedEngine> {
  const requests: EngineRequest[] = [];
  const state = { resets: 0 };
  const reply = opts.reply ?? (() => ({ status: 200, body: CHAT_ANSWER }));
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffer = Buffer.alloc(0);
    let lastAnswerAt: number | undefined;
    socket.on("data", (chunk) => {
      if (
        opts.idleCloseMs !== undefined &&
        lastAnswerAt !== undefined &&
        buffer.length === 0 &&
        Date.now() - lastAnswerAt >= opts.idleCloseMs
      ) {
        state.resets++;
        socket.resetAndDestroy();
        return;
      }
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const [start, ...lines] = buffer.subarray(0, end).toString("latin1").split("\r\n");
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const i = line.indexOf(":");
          headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
        }
        const length = Number(headers["content-length"] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const body = buffer.subarray(end + 4, end + 4 + length).toString("utf8");
        buffer = buffer.subarray(end + 4 + length);
        const [method = "", path = ""] = (start ?? "").split(" ");
        const req = { method, path, headers, body };
        requests.push(req);
        const out: EngineReply = path === "/health" ? { status: 200, body: "" } : reply(req);
        const head = [
          `HTTP/1.1 ${out.status} ${REASONS[out.status] ?? "Status"}`,
          "content-type: application/json",
          `content-length: ${Buffer.byteLength(out.body)}`,
          ...Object.entries(out.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
        ];
        if (out.cutAfterBytes !== undefined) {
          const part = Buffer.from(out.body).subarray(0, out.cutAfterBytes);
          socket.write(Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`), part]), () =>
            socket.resetAndDestroy(),
          );
          return;
        }
        socket.write(`${head.join("\r\n")}\r\n\r\n${out.body}`);
        lastAnswerAt = Date.now();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get resets() {
      return state.resets;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
