/**
 * Sends a POST whose declared Content-Length exceeds the gateway's body limit and
 * reads the answer as soon as it comes, writing the body only while the server
 * still reads (after a pause for servers that judge by the header alone). `fetch` cannot do this: when the server answers 413 and closes
 * without reading, fetch may report EPIPE instead of the response.
 */
import { request } from "node:http";
import { request as requestTls } from "node:https";

export interface OversizedResult {
  status: number;
  headers: Headers;
  text: string;
}

export function postOversized(
  url: string,
  bytes: number,
  headers: Record<string, string>,
  timeoutMs = 30_000,
): Promise<OversizedResult> {
  const u = new URL(url);
  const send = u.protocol === "https:" ? requestTls : request;
  const prefix = Buffer.from('{"model":"x","messages":[{"role":"user","content":"');
  const suffix = Buffer.from('"}]}');
  const fill = Math.max(0, bytes - prefix.length - suffix.length);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = send(u, {
      method: "POST",
      headers: {
        ...headers,
        "content-type": "application/json",
        "content-length": String(prefix.length + fill + suffix.length),
      },
      timeout: timeoutMs,
    });
    req.on("response", (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers: h, text: Buffer.concat(chunks).toString("utf8") });
        req.destroy();
      });
    });
    req.on("timeout", () =>
      req.destroy(new Error(`no answer to a ${bytes}-byte body within ${timeoutMs} ms`)),
    );
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(64 * 1024, "x");
    let left = fill;
    const pump = () => {
      while (left > 0 && !answered && !req.destroyed) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        if (!req.write(piece)) return void req.once("drain", pump);
      }
      if (!answered && !req.destroyed) req.end(suffix);
    };
    // Headers first: a server that judges by Content-Length answers before any body byte is
    // written, so no write can race its close. Only a server that wants the bytes gets them.
    req.flushHeaders();
    setTimeout(() => {
      if (answered || req.destroyed) return;
      req.write(prefix);
      pump();
    }, 1_000);
  });
}
