/**
 * The gateway's durable state. Callers get narrow repositories (`keys`, `usage`) and never
 * see SQL; each dialect implements them in its own folder (today `sqlite/`). Adding
 * Postgres means a `postgres/` folder and a branch in openStore, not changes in callers.
 */

import type { KeyRepository } from "./keys.ts";
import { openSqlite } from "./sqlite/database.ts";
import { createSqliteKeyRepository } from "./sqlite/sqliteKeys.ts";
import { createSqliteUsageLedger } from "./sqlite/sqliteUsage.ts";
import type { UsageLedger } from "./usage.ts";

export interface StoreOptions {
  /** Folder for the database file; created if missing. */
  dataDir: string;
  fileName?: string;
  busyTimeoutMs?: number;
  /** SQLite `synchronous`: `FULL` when usage rows must survive a host crash. */
  synchronous?: "NORMAL" | "FULL";
}

export interface Store {
  keys: KeyRepository;
  usage: UsageLedger;
  /** Where the data lives, for logs. */
  location: string;
  /** Throws when the store cannot be read (readiness). */
  ping(): void;
  close(): void;
}

export function openStore(opts: StoreOptions): Store {
  const { db, file } = openSqlite({
    dataDir: opts.dataDir,
    fileName: opts.fileName ?? "gateway.sqlite",
    ...(opts.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: opts.busyTimeoutMs }),
    ...(opts.synchronous === undefined ? {} : { synchronous: opts.synchronous }),
  });
  return {
    keys: createSqliteKeyRepository(db),
    usage: createSqliteUsageLedger(db),
    location: file,
    ping() {
      db.prepare("SELECT 1 FROM schema_migrations LIMIT 1").get();
    },
    close() {
      if (db.open) db.close();
    },
  };
}

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
