/**
 * The SQLite schema as numbered, append-only migrations. Never edit one that has shipped:
 * add the next number. `postgres/migrations.ts` keeps its own list with the same numbers.
 */
import type { Migration } from "../migrations.ts";

export type { Migration };

export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    name: "api keys",
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        tier TEXT NOT NULL,
        models TEXT,
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER
      );
      CREATE INDEX api_keys_status ON api_keys (status, created_at);
    `,
  },
  {
    // A rowid table appends rows at the end of the b-tree (one hot page); request_id's
    // UNIQUE index is what makes a duplicate record() a no-op.
    version: 2,
    name: "usage ledger",
    sql: `
      CREATE TABLE usage_rows (
        id INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL UNIQUE,
        ts INTEGER NOT NULL,
        key_id TEXT,
        tier TEXT,
        model_requested TEXT NOT NULL,
        model_served TEXT,
        replica TEXT,
        session_id TEXT,
        endpoint TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cached_tokens INTEGER NOT NULL,
        ttft_ms REAL,
        latency_ms REAL NOT NULL,
        status INTEGER NOT NULL,
        streamed INTEGER NOT NULL,
        client_aborted INTEGER NOT NULL,
        error_code TEXT
      );
      -- Every index costs one more page written per insert (~12 µs each, measured), so only
      -- the filters that would otherwise scan everything get one: time range, key, session.
      -- A model filter walks the time-range index (admin queries are rare; inserts are not).
      CREATE INDEX usage_rows_ts ON usage_rows (ts);
      CREATE INDEX usage_rows_key_ts ON usage_rows (key_id, ts);
      CREATE INDEX usage_rows_session_ts ON usage_rows (session_id, ts);
    `,
  },
  {
    // The row's identity became the gateway's own id; the client's x-request-id is kept
    // beside it (a client could otherwise send one id N times and be billed once).
    version: 3,
    name: "usage client request id",
    sql: "ALTER TABLE usage_rows ADD COLUMN client_request_id TEXT;",
  },
  {
    // Sessions (issue 12) belong to an API key: the key id is part of the primary key, so two
    // keys using one X-Session-Id have two sessions. Messages are the JSON as sent/answered.
    version: 4,
    name: "sessions",
    sql: `
      CREATE TABLE sessions (
        key_id TEXT NOT NULL,
        id TEXT NOT NULL,
        metadata TEXT,
        created_at INTEGER NOT NULL,
        last_active_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        requests INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        reasoning_tokens INTEGER NOT NULL DEFAULT 0,
        cached_tokens INTEGER NOT NULL DEFAULT 0,
        lock_token TEXT,
        lock_until INTEGER,
        PRIMARY KEY (key_id, id)
      );
      CREATE INDEX sessions_key_created ON sessions (key_id, created_at);
      CREATE INDEX sessions_created ON sessions (created_at);
      CREATE INDEX sessions_expires ON sessions (expires_at);
      CREATE TABLE session_messages (
        key_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        message TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (key_id, session_id, seq),
        FOREIGN KEY (key_id, session_id) REFERENCES sessions (key_id, id) ON DELETE CASCADE
      );
    `,
  },
  {
    // Version 4 is the sessions tables (another branch); the runner applies any missing
    // version, so a database may get 5 before 4. `memory_namespaces.revision` is bumped by
    // every write to a namespace: a process's in-memory search index compares it to know
    // whether another process changed the namespace (sqliteMemory.ts).
    version: 5,
    name: "memory items",
    sql: `
      CREATE TABLE memory_namespaces (
        key_id TEXT NOT NULL,
        namespace TEXT NOT NULL,
        revision INTEGER NOT NULL,
        PRIMARY KEY (key_id, namespace)
      );
      CREATE TABLE memory_items (
        id INTEGER PRIMARY KEY,
        key_id TEXT NOT NULL,
        namespace TEXT NOT NULL,
        item_key TEXT NOT NULL,
        value TEXT NOT NULL,
        metadata TEXT NOT NULL,
        embedding BLOB NOT NULL,
        embedding_model TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        UNIQUE (key_id, namespace, item_key)
      );
      CREATE INDEX memory_items_expires ON memory_items (expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
  {
    // Tiering: the router rule that chose the served model (model_requested keeps the alias).
    version: 6,
    name: "usage route",
    sql: "ALTER TABLE usage_rows ADD COLUMN route TEXT;",
  },
  {
    // Async jobs (Prefer: respond-async). A claim is (claim_token, lease_until); a finished job
    // keeps its result until expires_at. event_emitted: the terminal event reached the sink.
    version: 7,
    name: "jobs",
    sql: `
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        tier TEXT NOT NULL,
        status TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        model TEXT NOT NULL,
        request TEXT NOT NULL,
        request_id TEXT NOT NULL,
        client_request_id TEXT,
        webhook_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        event_emitted INTEGER NOT NULL DEFAULT 0,
        result TEXT,
        error TEXT,
        claim_token TEXT,
        lease_until INTEGER,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER,
        expires_at INTEGER
      );
      CREATE INDEX jobs_key_created ON jobs (key_id, created_at, id);
      CREATE INDEX jobs_runnable ON jobs (created_at, id) WHERE status IN ('queued', 'running');
      CREATE INDEX jobs_expires ON jobs (expires_at) WHERE expires_at IS NOT NULL;
      CREATE INDEX jobs_unemitted ON jobs (finished_at) WHERE event_emitted = 0 AND finished_at IS NOT NULL;
    `,
  },
  {
    // Webhooks (issue 14): endpoints per key and the delivery outbox. A delivery is unique per (event, endpoint): emitting an event twice is a
    // no-op. `lease_token`/`lease_until` let one worker hold a delivery while it sends it.
    version: 8,
    name: "webhooks",
    sql: `
      CREATE TABLE webhook_endpoints (
        id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        url TEXT NOT NULL,
        events TEXT,
        description TEXT,
        secret TEXT NOT NULL,
        previous_secret TEXT,
        previous_secret_until INTEGER,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX webhook_endpoints_key ON webhook_endpoints (key_id, created_at);
      CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        key_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        lease_token TEXT,
        lease_until INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_status_code INTEGER,
        last_error TEXT,
        UNIQUE (event_id, endpoint_id)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
      CREATE TABLE webhook_attempts (
        delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        status_code INTEGER,
        error TEXT,
        PRIMARY KEY (delivery_id, attempt)
      );
    `,
  },
];
