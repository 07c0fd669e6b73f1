/**
 * The gateway's durable state. Callers get narrow repositories (`keys`, `usage`) and never
 * see SQL; each dialect implements them in its own folder: `sqlite/` (embedded, the
 * default: one host) and `postgres/` (shared by every gateway replica). The same contract
 * suite (store.contract.test.ts) runs against both.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { MemoryRepository } from "../memory/types.ts";
import type { JobRepository } from "./jobs.ts";
import type { KeyRepository } from "./keys.ts";
import { openPostgres, queryOn, redactedUrl, transactionOn } from "./postgres/database.ts";
import { listenForKeyChanges } from "./postgres/keyNotifications.ts";
import { createPostgresJobRepository } from "./postgres/postgresJobs.ts";
import { createPostgresKeyRepository } from "./postgres/postgresKeys.ts";
import { createPostgresMemoryRepository } from "./postgres/postgresMemory.ts";
import { createPostgresSessionRepository } from "./postgres/postgresSessions.ts";
import { createPostgresUsageLedger } from "./postgres/postgresUsage.ts";
import { createPostgresWebhookRepository } from "./postgres/postgresWebhooks.ts";
import type { SessionRepository } from "./sessions.ts";
import { openSqlite } from "./sqlite/database.ts";
import { createSqliteJobRepository } from "./sqlite/sqliteJobs.ts";
import { createSqliteKeyRepository } from "./sqlite/sqliteKeys.ts";
import { createSqliteMemoryRepository } from "./sqlite/sqliteMemory.ts";
import { createSqliteSessionRepository } from "./sqlite/sqliteSessions.ts";
import { createSqliteUsageLedger } from "./sqlite/sqliteUsage.ts";
import { createSqliteWebhookRepository } from "./sqlite/sqliteWebhooks.ts";
import type { UsageLedger } from "./usage.ts";
import type { WebhookRepository } from "./webhooks.ts";

export interface StoreOptions {
  /** Folder for the SQLite file (created if missing); unused with Postgres. */
  dataDir: string;
  /** `postgres://…`: use Postgres instead of the embedded SQLite file. */
  databaseUrl?: string | undefined;
  fileName?: string;
  busyTimeoutMs?: number;
  /** SQLite `synchronous`: `FULL` when usage rows must survive a host crash. */
  synchronous?: "NORMAL" | "FULL";
  log?: Logger;
}

export interface Store {
  dialect: "sqlite" | "postgres";
  keys: KeyRepository;
  usage: UsageLedger;
  /** Conversation sessions and their messages (X-Session-Id, /v1/sessions). */
  sessions: SessionRepository;
  /** Memory items (`/v1/memory`); undefined on a Postgres without the pgvector extension. */
  memory: MemoryRepository | undefined;
  /** Async jobs (`Prefer: respond-async`, `/v1/jobs`). */
  jobs: JobRepository;
  /** Webhook endpoints per key and the delivery outbox (`/v1/webhooks`). */
  webhooks: WebhookRepository;
  /** Where the data lives, for logs (a Postgres password is masked). */
  location: string;
  /** Migration versions this open applied (empty when the schema was current). */
  migrationsApplied: number[];
  /**
   * Calls `listener(keyId)` after a key is updated, revoked or rotated: by this process
   * (SQLite), or by any process sharing the database (Postgres LISTEN/NOTIFY). `null` means
   * changes may have been missed: drop every cached key. Returns the unsubscribe function.
   */
  onKeyChange(listener: (keyId: string | null) => void): () => void;
  /** Rejects when the store cannot be read (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  return opts.databaseUrl ? openPostgresStore(opts.databaseUrl, opts.log) : openSqliteStore(opts);
}

function openSqliteStore(opts: StoreOptions): Store {
  const { db, file, applied } = openSqlite({
    dataDir: opts.dataDir,
    fileName: opts.fileName ?? "gateway.sqlite",
    ...(opts.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: opts.busyTimeoutMs }),
    ...(opts.synchronous === undefined ? {} : { synchronous: opts.synchronous }),
  });
  // Changes made by this process only: other processes sharing the file rely on the cache TTL.
  const changes = new EventEmitter();
  return {
    dialect: "sqlite",
    keys: createSqliteKeyRepository(db, (keyId) => changes.emit("change", keyId)),
    usage: createSqliteUsageLedger(db),
    sessions: createSqliteSessionRepository(db),
    memory: createSqliteMemoryRepository(db),
    jobs: createSqliteJobRepository(db),
    webhooks: createSqliteWebhookRepository(db),
    location: file,
    migrationsApplied: applied,
    onKeyChange(listener) {
      changes.on("change", listener);
      return () => changes.off("change", listener);
    },
    async ping() {
      db.prepare("SELECT 1 FROM schema_migrations LIMIT 1").get();
    },
    async close() {
      if (db.open) db.close();
    },
  };
}

async function openPostgresStore(url: string, log?: Logger): Promise<Store> {
  const { pool, applied } = await openPostgres({ url });
  const notifications = listenForKeyChanges(url, log);
  // Normally at once; a slow LISTEN only delays cross-replica invalidation (the TTL still applies).
  await Promise.race([notifications.ready, new Promise((r) => setTimeout(r, 5_000).unref())]);
  let closed = false;
  const memory = await createPostgresMemoryRepository(pool);
  if (!memory) {
    log?.warn("memory is off: this Postgres has no pgvector extension (`vector`), so no memory tables");
  }
  return {
    dialect: "postgres",
    keys: createPostgresKeyRepository(queryOn(pool)),
    usage: createPostgresUsageLedger(queryOn(pool)),
    sessions: createPostgresSessionRepository(queryOn(pool), transactionOn(pool)),
    memory,
    jobs: createPostgresJobRepository(queryOn(pool)),
    webhooks: createPostgresWebhookRepository(queryOn(pool), transactionOn(pool)),
    location: redactedUrl(url),
    migrationsApplied: applied,
    onKeyChange: (listener) => notifications.subscribe(listener),
    async ping() {
      await queryOn(pool)("SELECT 1 FROM schema_migrations LIMIT 1");
    },
    async close() {
      if (closed) return;
      closed = true;
      await notifications.close();
      await pool.end();
    },
  };
}

export type { ClaimedJob, JobRecord, JobRepository, JobStatus, NewJob, TerminalStatus } from "./jobs.ts";
export { createKeyCache, type KeyCache, type KeyCacheOptions } from "./keyCache.ts";
export {
  hashSecret,
  type IssuedKey,
  type KeyChanges,
  type KeyRecord,
  type KeyRepository,
  type KeyStatus,
  keyState,
  type NewKey,
} from "./keys.ts";
export { SchemaTooNew } from "./migrations.ts";
export type {
  SessionCursor,
  SessionRecord,
  SessionRepository,
  SessionUsage,
  StoredMessage,
} from "./sessions.ts";
export type {
  Percentiles,
  UsageEndpoint,
  UsageGroupField,
  UsageLedger,
  UsagePeriod,
  UsageQuery,
  UsageRow,
  UsageSummaryRow,
} from "./usage.ts";
export type {
  ClaimedDelivery,
  DeliveryAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookRepository,
} from "./webhooks.ts";
