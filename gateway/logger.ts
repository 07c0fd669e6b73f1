import { type Logger, pino } from "pino";

/**
 * JSON logs. Prompt text never reaches a log call by construction (we log ids,
 * models, statuses and counts); the redact list is a second line of defence for
 * headers and keys should an object slip in.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "gonka-gateway" },
      redact: {
        paths: [
          "authorization",
          "*.authorization",
          "headers.authorization",
          'headers["api-key"]',
          "apiKey",
          "*.apiKey",
          "secret",
          "*.secret",
          "messages",
          "*.messages",
          "prompt",
          "*.prompt",
          "input",
          "*.input",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
