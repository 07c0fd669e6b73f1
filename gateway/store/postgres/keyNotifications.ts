/**
 * Key changes from every gateway sharing the database, through Postgres LISTEN/NOTIFY:
 * one dedicated connection per gateway LISTENs on KEY_CHANNEL; postgresKeys.ts NOTIFYs
 * in the statement that changes a key, so Postgres delivers the key id to every listener
 * when that change commits. Why not Redis pub/sub: the notice then travels with the
 * change itself (no window where the row changed and nothing was published, no second
 * system to keep up), and Redis stays optional.
 *
 * A lost connection is reopened (backing off up to 5 s); since notices sent meanwhile are
 * lost, listeners are then told to drop everything (`null`). The key cache's 1 s TTL stays
 * the fallback whatever happens here.
 */
import type pg from "pg";
import type { Logger } from "pino";
import { newClient } from "./database.ts";
import { KEY_CHANNEL } from "./postgresKeys.ts";

export interface KeyNotifications {
  /** keyId for one key; null when notices may have been missed (drop every cached key). */
  subscribe(listener: (keyId: string | null) => void): () => void;
  /** Resolves once LISTEN is in place (the first time). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export function listenForKeyChanges(url: string, log?: Logger): KeyNotifications {
  const listeners = new Set<(keyId: string | null) => void>();
  const emit = (keyId: string | null) => {
    for (const l of listeners) l(keyId);
  };
  // The connection being opened or in use; notices of any other (an old one) are ignored.
  let client: pg.Client | undefined;
  let listening = false;
  let closed = false;
  let delay = 100;
  let retry: NodeJS.Timeout | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  async function connect(reconnect: boolean): Promise<void> {
    const c = newClient(url);
    client = c;
    c.on("notification", (msg) => {
      if (msg.channel === KEY_CHANNEL && msg.payload) emit(msg.payload);
    });
    c.on("error", (err) => lost(c, err));
    c.on("end", () => lost(c, new Error("connection ended")));
    try {
      await c.connect();
      await c.query(`LISTEN ${KEY_CHANNEL}`);
    } catch (err) {
      lost(c, err as Error);
      return;
    }
    if (closed) {
      await c.end().catch(() => {});
      return;
    }
    listening = true;
    delay = 100;
    if (reconnect) {
      log?.info("key change notifications resumed");
      emit(null);
    }
    markReady();
  }

  function lost(c: pg.Client, err: Error): void {
    if (closed || client !== c || retry) return;
    client = undefined;
    if (listening) {
      listening = false;
      log?.warn(
        { reason: err.message },
        "key change notifications lost; reconnecting (cache TTL still applies)",
      );
    }
    c.end().catch(() => {});
    retry = setTimeout(() => {
      retry = undefined;
      void connect(true);
    }, delay);
    retry.unref();
    delay = Math.min(delay * 2, 5_000);
  }

  void connect(false);
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ready,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => {});
      client = undefined;
    },
  };
}
