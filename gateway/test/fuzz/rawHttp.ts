/**
 * One HTTP/1.1 exchange over a raw TCP socket: the fuzzer must be able to send what no
 * HTTP client would (invalid methods, raw bytes in the path, broken header values).
 */
import { connect } from "node:net";

export interface RawRequest {
  method: string;
  /** Raw request-target bytes (may be invalid on purpose). */
  target: Buffer;
  headers: ReadonlyArray<[string, Buffer]>;
  body: Buffer;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export function encodeRequest(req: RawRequest, host: string): Buffer {
  const lines: Buffer[] = [Buffer.from(`${req.method} `, "latin1"), req.target, Buffer.from(" HTTP/1.1\r\n")];
  lines.push(Buffer.from(`host: ${host}\r\nconnection: close\r\ncontent-length: ${req.body.length}\r\n`));
  for (const [name, value] of req.headers) lines.push(Buffer.from(`${name}: `), value, Buffer.from("\r\n"));
  lines.push(Buffer.from("\r\n"), req.body);
  return Buffer.concat(lines);
}

/** Sends the request and reads until the server closes; rejects on timeout or a connection error. */
export function exchange(origin: string, req: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (c) => chunks.push(c));
    // A reset after a complete answer (the server closing with unread body bytes) is not a failure.
    const finish = () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    };
    socket.on("error", (err) => {
      if (chunks.length) return finish();
      clearTimeout(timer);
      reject(err);
    });
    socket.on("end", finish);
    socket.write(encodeRequest(req, `${hostname}:${port}`));
  });
}

export function parseResponse(raw: Buffer): RawResponse {
  // Interim answers (`100 Continue` to `Expect: 100-continue`) come before the real one.
  while (/^HTTP\/1\.1 1\d\d /.test(raw.subarray(0, 13).toString("latin1"))) {
    raw = raw.subarray(raw.indexOf("\r\n\r\n") + 4);
  }
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0)
    throw new Error(`no complete response head: ${JSON.stringify(raw.toString("latin1").slice(0, 200))}`);
  const [statusLine = "", ...lines] = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (headers["transfer-encoding"]?.includes("chunked")) body = dechunk(body);
  else if (headers["content-length"] !== undefined)
    body = body.subarray(0, Number(headers["content-length"]));
  return { status, headers, body };
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString("latin1"), 16);
    if (!size) break;
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}
