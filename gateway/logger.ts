import { type Logger, pino } from "pino";

const FLUSH_INTERVAL_MS = 1_000;

/**
 * JSON logs. Prompt text never reaches a log call by construction (we log ids,
 * models, statuses and counts); the redact list is a second line of defence for
 * headers and keys should an object slip in.
 *
 * Without an explicit destination, stdout is written in 4 KiB batches (one
 * write() per ~20 lines, on the main thread: cheaper than handing every line to
 * libuv's thread pool), flushed at least every second. A write() per access-log
 * line was among the largest costs on the request path. A crash can lose the last
 * second of log lines, never usage rows (those are journaled).
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const dest = destination ?? bufferedStdout();
  return pino(
    {
      level,
      base: { service: "gonka-gateway" },
      redact: {
        paths: [
          "authorization",
          "headers.authorization",
          'headers["api-key"]',
          "apiKey",
          "secret",
          "messages",
          "prompt",
          "input",
        ],
        censor: "[redacted]",
      },
    },
    dest,
  );
}

function bufferedStdout(): pino.DestinationStream {
  const dest = pino.destination({ dest: 1, sync: true, minLength: 4096 });
  const timer = setInterval(() => dest.flush(), FLUSH_INTERVAL_MS);
  timer.unref();
  process.once("exit", () => {
    try {
      // flush(), not flushSync(): with sync: true both write the buffer (under minLength, one
      // chunk) at once, but sonic-boom 4's flushSync retries a failed write every 100 ms forever,
      // EPIPE included, so a gateway whose reader had gone (a local stack that died first) never
      // exited. flush() reports EPIPE as an error event, on which pino drops further lines.
      dest.flush();
    } catch {
      // stdout already gone; nothing left to save.
    }
  });
  return dest;
}

/** Writes buffered log lines now (after the startup line, before exiting). */
export function flushLogs(log: Logger): void {
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as {
    flush?: () => void;
  };
  stream.flush?.();
}
