/**
 * Versioned migrations, shared by both dialects: each dialect keeps its own numbered,
 * append-only list (`sqlite/migrations.ts`, `postgres/migrations.ts`) with the same numbers
 * for the same change, applies the missing ones at start under a lock (SQLite's write lock,
 * a Postgres advisory lock), and refuses a database migrated by a newer gateway.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * A database whose schema is newer than this gateway knows: a newer gateway migrated it
 * (a rollback, or an old replica left running during a rolling update). Writing to it could
 * break that newer gateway's data, so this one refuses to start instead.
 */
export class SchemaTooNew extends Error {
  override name = "SchemaTooNew";
  readonly found: number;
  readonly known: number;

  constructor(location: string, found: number, known: number) {
    super(
      `the database at ${location} has schema version ${found}, newer than this gateway knows ` +
        `(${known}): a newer gateway migrated it. Run that gateway version (or newer) on this ` +
        "database; this one refuses to start rather than write to a schema it does not understand.",
    );
    this.found = found;
    this.known = known;
  }
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

export function assertSchemaKnown(location: string, found: number, migrations: readonly Migration[]): void {
  const known = latestVersion(migrations);
  if (found > known) throw new SchemaTooNew(location, found, known);
}
