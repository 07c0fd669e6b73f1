/**
 * API keys: the record callers see, the repository interface every dialect implements,
 * and the dialect-free parts (secret generation, hashing, validation). SQL lives in
 * `sqlite/sqliteKeys.ts` and `postgres/postgresKeys.ts`.
 */
import { hash, randomBytes } from "node:crypto";
import { InvalidInput, NotFound } from "./errors.ts";

export type KeyStatus = "active" | "revoked";

export interface KeyRecord {
  id: string;
  name: string;
  /** First characters of the secret (`gk-abc12`), safe to show in lists and logs. */
  prefix: string;
  tier: string;
  /** Model ids or aliases this key may use; null means whatever its tier allows. */
  models: string[] | null;
  status: KeyStatus;
  /** Milliseconds since the epoch, like every time in the store. */
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface NewKey {
  name: string;
  tier: string;
  models?: string[] | null;
  expiresAt?: number | null;
}

export interface KeyChanges {
  name?: string;
  tier?: string;
  models?: string[] | null;
  expiresAt?: number | null;
}

/** A key together with its secret; the only moment the secret exists outside the client. */
export interface IssuedKey {
  key: KeyRecord;
  secret: string;
}

/**
 * Every method is async: SQLite answers at once, Postgres over the network. The request
 * path never waits on it per request: the key cache (keyCache.ts) sits in front.
 */
export interface KeyRepository {
  create(input: NewKey): Promise<IssuedKey>;
  /** The key whose secret this is, whatever its status; undefined when unknown. */
  findBySecret(secret: string): Promise<KeyRecord | undefined>;
  /** Same as findBySecret for callers that already hashed (the key cache). */
  findByHash(secretHash: string): Promise<KeyRecord | undefined>;
  get(id: string): Promise<KeyRecord | undefined>;
  list(filter?: { status?: KeyStatus }): Promise<KeyRecord[]>;
  /** Throws NotFound for an unknown id, InvalidInput for invalid changes. */
  update(id: string, changes: KeyChanges): Promise<KeyRecord>;
  /** Idempotent: revoking a revoked key returns it unchanged. */
  revoke(id: string): Promise<KeyRecord>;
  /** New secret; the old one stops matching at once. Refused for revoked keys. */
  rotate(id: string): Promise<IssuedKey>;
}

/** An `api_keys` row as both dialects return it (the columns in KEY_COLUMNS). */
export interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  tier: string;
  models: string | null;
  status: KeyStatus;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export const KEY_COLUMNS =
  "id, name, prefix, tier, models, status, created_at, updated_at, expires_at, revoked_at";

/** The record a KeyRow describes (`models` is stored as JSON text in both dialects). */
export function keyFromRow(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    tier: row.tier,
    models: row.models === null ? null : (JSON.parse(row.models) as string[]),
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

export const SECRET_PREFIX = "gk-";
const DISPLAY_PREFIX_LENGTH = 8;

/** `gk-` + 24 random bytes in base64url: 192 bits, no characters that need escaping in headers. */
export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString("base64url");
}

export function newKeyId(): string {
  return "key_" + randomBytes(10).toString("hex");
}

/**
 * SHA-256 without salt is enough here: secrets carry 192 bits of entropy, so there is no
 * dictionary to precompute, and an unsalted hash is what makes lookup by secret an index hit.
 */
export function hashSecret(secret: string): string {
  // One-shot crypto.hash: a third of createHash().update().digest()'s cost, on every request.
  return hash("sha256", secret, "hex");
}

export function displayPrefix(secret: string): string {
  return secret.slice(0, DISPLAY_PREFIX_LENGTH);
}

/** Whether a key may be used at `now`; the auth step turns the answer into a 401. */
export function keyState(key: KeyRecord, now: number = Date.now()): "active" | "revoked" | "expired" {
  if (key.status === "revoked") return "revoked";
  if (key.expiresAt !== null && key.expiresAt <= now) return "expired";
  return "active";
}

export function keyNotFound(id: string): NotFound {
  return new NotFound("key_not_found", "id", `No API key with id \`${id}\`.`);
}

function invalid(param: string, message: string): InvalidInput {
  return new InvalidInput("invalid_key_field", param, message);
}

export function validateName(name: unknown): string {
  if (typeof name !== "string" || name.trim() === "" || name.length > 200) {
    throw invalid("name", "name must be a non-empty string of at most 200 characters.");
  }
  return name;
}

export function validateTier(tier: unknown): string {
  if (typeof tier !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(tier)) {
    throw invalid(
      "tier",
      "tier must be a tier name (letters, digits, `_`, `.`, `-`; at most 64 characters).",
    );
  }
  return tier;
}

export function validateModels(models: unknown): string[] | null {
  if (models === null || models === undefined) return null;
  if (!Array.isArray(models) || models.length === 0) {
    throw invalid(
      "models",
      "models must be a non-empty array of model ids, or null to allow the tier's models.",
    );
  }
  for (const model of models) {
    if (typeof model !== "string" || model === "" || model.length > 200) {
      throw invalid("models", "every entry of models must be a non-empty model id.");
    }
  }
  return [...new Set(models as string[])];
}

export function validateExpiresAt(expiresAt: unknown): number | null {
  if (expiresAt === null || expiresAt === undefined) return null;
  if (typeof expiresAt !== "number" || !Number.isSafeInteger(expiresAt) || expiresAt <= 0) {
    throw invalid("expiresAt", "expiresAt must be a time in milliseconds since the epoch, or null.");
  }
  return expiresAt;
}

export function keyRevokedError(id: string): InvalidInput {
  return new InvalidInput(
    "key_revoked",
    "id",
    `API key \`${id}\` is revoked; create a new key instead of rotating it.`,
  );
}
