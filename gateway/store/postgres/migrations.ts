/**
 * The Postgres schema as numbered, append-only migrations, with the same numbers as
 * `sqlite/migrations.ts` for the same change (so "schema version 3" means one thing in
 * both). Never edit one that has shipped: add the next number to both lists.
 */
import type { Migration } from "../migrations.ts";

/** Memory's tables (migration 5), idempotent: also run at start once pgvector appears later. */
export const MEMORY_TABLES = `
  CREATE TABLE IF NOT EXISTS memory_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_id TEXT NOT NULL,
    namespace TEXT NOT NULL,
    item_key TEXT NOT NULL,
    value TEXT NOT NULL,
    metadata JSONB NOT NULL,
    embedding vector NOT NULL,
    embedding_model TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT,
    UNIQUE (key_id, namespace, item_key)
  );
  CREATE INDEX IF NOT EXISTS memory_items_expires ON memory_items (expires_at) WHERE expires_at IS NOT NULL;
`;

export const postgresMigrations: readonly Migration[] = [
  {
    // seq keeps list() in creation order for keys created in the same millisecond (SQLite's rowid).
    version: 1,
    name: "api keys",
    sql: `
      CREATE TABLE api_keys (
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        tier TEXT NOT NULL,
        models TEXT,
        status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        expires_at BIGINT,
        revoked_at BIGINT
      );
      CREATE INDEX api_keys_status ON api_keys (status, created_at);
    `,
  },
  {
    // request_id's UNIQUE index makes a replayed row a no-op (ON CONFLICT DO NOTHING).
    version: 2,
    name: "usage ledger",
    sql: `
      CREATE TABLE usage_rows (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        request_id TEXT NOT NULL UNIQUE,
        ts BIGINT NOT NULL,
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
        ttft_ms DOUBLE PRECISION,
        latency_ms DOUBLE PRECISION NOT NULL,
        status INTEGER NOT NULL,
        streamed BOOLEAN NOT NULL,
        client_aborted BOOLEAN NOT NULL,
        error_code TEXT
      );
      CREATE INDEX usage_rows_ts ON usage_rows (ts);
      CREATE INDEX usage_rows_key_ts ON usage_rows (key_id, ts);
      CREATE INDEX usage_rows_session_ts ON usage_rows (session_id, ts);
    `,
  },
  {
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
        created_at BIGINT NOT NULL,
        last_active_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        message_count BIGINT NOT NULL DEFAULT 0,
        bytes BIGINT NOT NULL DEFAULT 0,
        requests BIGINT NOT NULL DEFAULT 0,
        prompt_tokens BIGINT NOT NULL DEFAULT 0,
        completion_tokens BIGINT NOT NULL DEFAULT 0,
        reasoning_tokens BIGINT NOT NULL DEFAULT 0,
        cached_tokens BIGINT NOT NULL DEFAULT 0,
        lock_token TEXT,
        lock_until BIGINT,
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
    // Version 4 is the sessions tables (another branch). Memory needs the pgvector extension
    // (CloudNativePG's images ship it). Creating it needs a role allowed to; without pgvector,
    // or without the right to create it, the version is recorded without the tables and the
    // gateway runs with memory off (it logs why). Once an operator has created the extension,
    // the next gateway start creates the tables (ensureMemoryTables in postgresMemory.ts).
    version: 5,
    name: "memory items",
    sql: `
      DO $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
          BEGIN
            CREATE EXTENSION IF NOT EXISTS vector;
          EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'pgvector is available but this role may not create it: memory stays off';
          END;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
          ${MEMORY_TABLES}
        END IF;
      END
      $$;
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
        lease_until BIGINT,
        created_at BIGINT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT,
        expires_at BIGINT
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
        previous_secret_until BIGINT,
        created_at BIGINT NOT NULL
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
        next_attempt_at BIGINT,
        lease_token TEXT,
        lease_until BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        last_status_code INTEGER,
        last_error TEXT,
        UNIQUE (event_id, endpoint_id)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
      CREATE TABLE webhook_attempts (
        delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        started_at BIGINT NOT NULL,
        duration_ms DOUBLE PRECISION NOT NULL,
        status_code INTEGER,
        error TEXT,
        PRIMARY KEY (delivery_id, attempt)
      );
    `,
  },
];
