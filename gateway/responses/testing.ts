/**
 * Helpers shared by the Responses tests that run a real gateway (sessions/testing.ts fixture):
 * reading an `event:`-framed stream, and the usage row a response chain's session got.
 */
import { expect } from "vitest";
import type { UsageJournal } from "../metering/usageJournal.ts";
import type { SessionFixture } from "../sessions/testing.ts";

// biome-ignore lint/suspicious/noExplicitAny: tests assert on arbitrary response JSON.
type Json = Record<string, any>;

/** The events of a Responses stream; each frame's `event:` line must name its data's type. */
export function parseEventStream(raw: string): Json[] {
  return raw
    .split("\n\n")
    .filter(Boolean)
    .map((f) => {
      const [eventLine, dataLine] = f.split("\n");
      const data = JSON.parse(dataLine!.slice("data: ".length)) as Json;
      expect(eventLine).toBe(`event: ${data["type"]}`);
      return data;
    });
}

/** The usage summary row of one session (a response chain), after the journal is flushed. */
export async function sessionUsageRow(fx: SessionFixture, sessionId: string) {
  await (fx.services.store.usage as UsageJournal).flush();
  const [row] = await fx.services.store.usage.summary({ groupBy: ["session"], sessionId });
  return row;
}
