/**
 * KeyRepository over SQLite. All key SQL lives here; statements are prepared once. The
 * methods are async to share the interface with Postgres; better-sqlite3 itself answers
 * synchronously, so each resolves at once.
 */

import {
  displayPrefix,
  hashSecret,
  type IssuedKey,
  KEY_COLUMNS,
  type KeyChanges,
  type KeyRecord,
  type KeyRepository,
  type KeyRow,
  type KeyStatus,
  keyFromRow,
  keyNotFound,
  keyRevokedError,
  type NewKey,
  newKeyId,
  newSecret,
  validateExpiresAt,
  validateModels,
  validateName,
  validateTier,
} from "../keys.ts";
import type { SqliteDatabase } from "./database.ts";

export function createSqliteKeyRepository(
  db: SqliteDatabase,
  onChange: (keyId: string) => void = () => {},
  now: () => number = Date.now,
): KeyRepository {
  const insert = db.prepare(
    `INSERT INTO api_keys (id, name, prefix, secret_hash, tier, models, status, created_at, updated_at, expires_at)
     VALUES (@id, @name, @prefix, @secretHash, @tier, @models, 'active', @now, @now, @expiresAt)`,
  );
  const byHash = db.prepare<[string], KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE secret_hash = ?`);
  const byId = db.prepare<[string], KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = ?`);
  const all = db.prepare<[], KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at, rowid`);
  const byStatus = db.prepare<[KeyStatus], KeyRow>(
    `SELECT ${KEY_COLUMNS} FROM api_keys WHERE status = ? ORDER BY created_at, rowid`,
  );
  const setFields = db.prepare(
    `UPDATE api_keys SET name = @name, tier = @tier, models = @models, expires_at = @expiresAt, updated_at = @now
     WHERE id = @id`,
  );
  const setRevoked = db.prepare<[number, number, string]>(
    "UPDATE api_keys SET status = 'revoked', revoked_at = ?, updated_at = ? WHERE id = ? AND status = 'active'",
  );
  const setSecret = db.prepare<[string, string, number, string]>(
    "UPDATE api_keys SET secret_hash = ?, prefix = ?, updated_at = ? WHERE id = ?",
  );

  function mustGet(id: string): KeyRecord {
    const row = byId.get(id);
    if (!row) throw keyNotFound(id);
    return keyFromRow(row);
  }

  return {
    async create(input: NewKey): Promise<IssuedKey> {
      const name = validateName(input.name);
      const tier = validateTier(input.tier);
      const models = validateModels(input.models);
      const expiresAt = validateExpiresAt(input.expiresAt);
      const secret = newSecret();
      const id = newKeyId();
      insert.run({
        id,
        name,
        prefix: displayPrefix(secret),
        secretHash: hashSecret(secret),
        tier,
        models: models === null ? null : JSON.stringify(models),
        now: now(),
        expiresAt,
      });
      return { key: mustGet(id), secret };
    },

    async findBySecret(secret: string): Promise<KeyRecord | undefined> {
      const row = byHash.get(hashSecret(secret));
      return row ? keyFromRow(row) : undefined;
    },

    async findByHash(secretHash: string): Promise<KeyRecord | undefined> {
      const row = byHash.get(secretHash);
      return row ? keyFromRow(row) : undefined;
    },

    async get(id: string): Promise<KeyRecord | undefined> {
      const row = byId.get(id);
      return row ? keyFromRow(row) : undefined;
    },

    async list(filter: { status?: KeyStatus } = {}): Promise<KeyRecord[]> {
      const rows = filter.status ? byStatus.all(filter.status) : all.all();
      return rows.map(keyFromRow);
    },

    async update(id: string, changes: KeyChanges): Promise<KeyRecord> {
      const current = mustGet(id);
      const models = changes.models === undefined ? current.models : validateModels(changes.models);
      setFields.run({
        id,
        name: changes.name === undefined ? current.name : validateName(changes.name),
        tier: changes.tier === undefined ? current.tier : validateTier(changes.tier),
        models: models === null ? null : JSON.stringify(models),
        expiresAt: changes.expiresAt === undefined ? current.expiresAt : validateExpiresAt(changes.expiresAt),
        now: now(),
      });
      onChange(id);
      return mustGet(id);
    },

    async revoke(id: string): Promise<KeyRecord> {
      const at = now();
      if (setRevoked.run(at, at, id).changes > 0) onChange(id);
      return mustGet(id);
    },

    async rotate(id: string): Promise<IssuedKey> {
      const current = mustGet(id);
      if (current.status === "revoked") {
        throw keyRevokedError(id);
      }
      const secret = newSecret();
      setSecret.run(hashSecret(secret), displayPrefix(secret), now(), id);
      onChange(id);
      return { key: mustGet(id), secret };
    },
  };
}
