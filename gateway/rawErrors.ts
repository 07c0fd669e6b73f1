/**
 * Requests Node's HTTP parser refuses before Koa ever sees them (a malformed request line,
 * a header too large, both Content-Length and Transfer-Encoding) and CONNECT requests get
 * the same OpenAI error object as everything else, instead of Node's bare
 * `400 Bad Request`, a bare 417 for an unknown `Expect`, or a silently closed socket.
 */
import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { Duplex } from "node:stream";
import { errors, GatewayError } from "./errors.ts";

function writeRaw(socket: Duplex, error: GatewayError): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(error.toBody());
  const reason =
    error.status === 431
      ? "Request Header Fields Too Large"
      : error.status === 405
        ? "Method Not Allowed"
        : "Bad Request";
  socket.end(
    `HTTP/1.1 ${error.status} ${reason}\r\n` +
      "content-type: application/json; charset=utf-8\r\n" +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: req_${randomUUID().replaceAll("-", "")}\r\n` +
      "connection: close\r\n\r\n" +
      body,
  );
}

export function answerRawErrors(server: Server): void {
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A client that went away, or a request timing out half-sent: nobody to answer.
    if (err.code === "ECONNRESET" || err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      socket.destroy();
      return;
    }
    writeRaw(
      socket,
      err.code === "HPE_HEADER_OVERFLOW"
        ? new GatewayError({
            status: 431,
            type: "invalid_request_error",
            code: "headers_too_large",
            message: "The request's headers are too large.",
          })
        : errors.invalidRequest("The request is not valid HTTP/1.1.", null, "malformed_request"),
    );
  });
  // An `Expect` other than 100-continue: Node would answer a bare 417.
  server.on("checkExpectation", (_req, res) => {
    const error = new GatewayError({
      status: 417,
      type: "invalid_request_error",
      code: "expectation_failed",
      message: "Only `Expect: 100-continue` is supported.",
    });
    const body = JSON.stringify(error.toBody());
    res.writeHead(417, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      "x-request-id": `req_${randomUUID().replaceAll("-", "")}`,
      connection: "close",
    });
    res.end(body);
  });
  server.on("connect", (req, socket: Duplex) => {
    writeRaw(socket, errors.methodNotAllowed("CONNECT", req.url ?? "", ""));
  });
}
