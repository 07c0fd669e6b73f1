/**
 * KeyRepository over Postgres. All key SQL lives here. Every change (update, revoke,
 * rotate) calls pg_notify in the same statement, so the notice reaches every gateway
 * LISTENing on the database exactly when the change commits (keyNotifications.ts).
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
import type { Query } from "./database.ts";

/** The channel key changes are published on; the payload is the key id. */
export const KEY_CHANNEL = "gonka_key_changed";

/** Appended to RETURNING: publishes the change when the statement's transaction commits. */
const NOTIFY = `pg_notify('${KEY_CHANNEL}', id)`;

export function createPostgresKeyRepository(query: Query, now: () => number = Date.now): KeyRepository {
  async function one(sql: string, params: unknown[]): Promise<KeyRecord | undefined> {
    const { rows } = await query<KeyRow>(sql, params);
    return rows[0] ? keyFromRow(rows[0]) : undefined;
  }

  async function mustGet(id: string): Promise<KeyRecord> {
    const key = await one(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1`, [id]);
    if (!key) throw keyNotFound(id);
    return key;
  }

  const byHash = (hash: string) => one(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1`, [hash]);

  return {
    async create(input: NewKey): Promise<IssuedKey> {
      const name = validateName(input.name);
      const tier = validateTier(input.tier);
      const models = validateModels(input.models);
      const expiresAt = validateExpiresAt(input.expiresAt);
      const secret = newSecret();
      const at = now();
      const key = await one(
        `INSERT INTO api_keys (id, name, prefix, secret_hash, tier, models, status, created_at, updated_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7, $8) RETURNING ${KEY_COLUMNS}`,
        [
          newKeyId(),
          name,
          displayPrefix(secret),
          hashSecret(secret),
          tier,
          models === null ? null : JSON.stringify(models),
          at,
          expiresAt,
        ],
      );
      return { key: key!, secret };
    },

    findBySecret: (secret: string) => byHash(hashSecret(secret)),

    findByHash: byHash,

    get: (id: string) => one(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1`, [id]),

    async list(filter: { status?: KeyStatus } = {}): Promise<KeyRecord[]> {
      const { rows } = filter.status
        ? await query<KeyRow>(
            `SELECT ${KEY_COLUMNS} FROM api_keys WHERE status = $1 ORDER BY created_at, seq`,
            [filter.status],
          )
        : await query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at, seq`);
      return rows.map(keyFromRow);
    },

    async update(id: string, changes: KeyChanges): Promise<KeyRecord> {
      const current = await mustGet(id);
      const models = changes.models === undefined ? current.models : validateModels(changes.models);
      const updated = await one(
        `UPDATE api_keys SET name = $2, tier = $3, models = $4, expires_at = $5, updated_at = $6
         WHERE id = $1 RETURNING ${KEY_COLUMNS}, ${NOTIFY}`,
        [
          id,
          changes.name === undefined ? current.name : validateName(changes.name),
          changes.tier === undefined ? current.tier : validateTier(changes.tier),
          models === null ? null : JSON.stringify(models),
          changes.expiresAt === undefined ? current.expiresAt : validateExpiresAt(changes.expiresAt),
          now(),
        ],
      );
      if (!updated) throw keyNotFound(id);
      return updated;
    },

    async revoke(id: string): Promise<KeyRecord> {
      const at = now();
      const revoked = await one(
        `UPDATE api_keys SET status = 'revoked', revoked_at = $2, updated_at = $2
         WHERE id = $1 AND status = 'active' RETURNING ${KEY_COLUMNS}, ${NOTIFY}`,
        [id, at],
      );
      return revoked ?? (await mustGet(id));
    },

    async rotate(id: string): Promise<IssuedKey> {
      const secret = newSecret();
      // One statement: a revoke committed meanwhile cannot be undone by a rotate that read "active".
      const rotated = await one(
        `UPDATE api_keys SET secret_hash = $2, prefix = $3, updated_at = $4
         WHERE id = $1 AND status = 'active' RETURNING ${KEY_COLUMNS}, ${NOTIFY}`,
        [id, hashSecret(secret), displayPrefix(secret), now()],
      );
      if (rotated) return { key: rotated, secret };
      await mustGet(id); // NotFound when unknown…
      throw keyRevokedError(id); // …else it was revoked
    },
  };
}
