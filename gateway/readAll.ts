import type { Readable } from "node:stream";

/** A cap on what readAll accepts, and the error to fail with beyond it. */
export interface ReadLimit {
  readonly bytes: number;
  readonly error: () => Error;
}

/**
 * Reads a stream to its end as one Buffer: a client's request body, an engine's non-streamed
 * answer. Written here rather than through undici's `body.arrayBuffer()`, Node's
 * `stream/consumers` `buffer()` or a body-parser package because it sits on every request:
 * arrayBuffer() and buffer() copy even a one-chunk body (and buffer() has no size limit);
 * this keeps the chunks as they came (one chunk, no copy).
 *
 * Past `limit` it stops buffering, lets the rest drain, and fails with the limit's error. A
 * stream that closes without ending fails with ERR_STREAM_PREMATURE_CLOSE (what Node's own
 * `stream.finished` reports), so a destroyed stream can never leave the read pending.
 */
export function readAll(stream: Readable, limit?: ReadLimit): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const max = limit?.bytes ?? Number.POSITIVE_INFINITY;
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        cleanup();
        stream.resume();
        reject(limit!.error());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(
        Object.assign(new Error("the stream closed before it ended"), { code: "ERR_STREAM_PREMATURE_CLOSE" }),
      );
    };
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.on("close", onClose);
  });
}
