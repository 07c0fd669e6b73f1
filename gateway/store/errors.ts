/**
 * What the store says when it refuses: domain errors, no HTTP. The HTTP layer maps them
 * (errors.ts, toGatewayError): NotFound → 404, InvalidInput → 400, Conflict → 409,
 * StoreUnavailable → 503.
 */
export abstract class StoreError extends Error {
  /** Stable machine-readable reason (`key_not_found`, `invalid_key_field`…). */
  readonly code: string;
  /** The input field at fault, when one is. */
  readonly param: string | null;

  constructor(code: string, param: string | null, message: string) {
    super(message);
    this.code = code;
    this.param = param;
  }
}

/** The record asked for does not exist. */
export class NotFound extends StoreError {
  override name = "NotFound";
}

/** The input cannot be stored or queried as given (a bad field, a revoked key to rotate). */
export class InvalidInput extends StoreError {
  override name = "InvalidInput";
}

/** The record is in use by another request (a session another request holds): retry later. */
export class Conflict extends StoreError {
  override name = "Conflict";
}

/** The database cannot be reached (down, failing over, network cut): worth a retry, not a bug. */
export class StoreUnavailable extends StoreError {
  override name = "StoreUnavailable";
}

/** A per-tier quota would be exceeded (items in a namespace): the write is refused, nothing changed. */
export class QuotaExceeded extends StoreError {
  override name = "QuotaExceeded";

  /** A memory namespace already holds the most live items the key's tier allows. */
  static namespaceFull(namespace: string, max: number): QuotaExceeded {
    return new QuotaExceeded(
      "memory_items_quota_exceeded",
      "key",
      `Namespace \`${namespace}\` already holds ${max} items, the most your tier allows; delete some first.`,
    );
  }
}
