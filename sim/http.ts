import type { IncomingMessage, ServerResponse } from "node:http";
import type { Engine } from "../catalog/index.ts";
import { errorPayload, SimError, validationError } from "./errors.ts";

const MAX_BODY_BYTES = 64 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SimError(413, "request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")),
    );
    req.on("error", reject);
  });
}

/** vLLM (FastAPI) refuses any body that is not declared `application/json`, with a 400. */
export function checkJsonContentType(contentType: string | undefined): void {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") {
    throw new SimError(
      400,
      `1 validation error:\n  Unsupported Media Type: Only 'application/json' is allowed ["Unsupported Media Type: Only 'application/json' is allowed"]`,
      { validation: true },
    );
  }
}

/** Parses a JSON object body; vLLM answers malformed JSON with a 400 validation error. */
export async function readJsonObject(
  req: IncomingMessage,
  engine: Engine = "vllm",
): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (engine === "vllm") throw validationError("JSON decode error", {}, "('body', 1)", "json_invalid");
    throw new SimError(400, `JSON decode error: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SimError(400, "Input should be a valid dictionary or object to extract fields from");
  }
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, engine: Engine, err: SimError, wrongShape = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, errorPayload(engine, err, wrongShape));
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
} as const;
