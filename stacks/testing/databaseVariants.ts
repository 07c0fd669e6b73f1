/** Stack variants for the database kinds the committed stack files do not use. */
import { DUMMY_SECRETS } from "./stackFiles.ts";

/** `gonka:database` external, with the URL set as `pulumi config set --secret --path gonka:database.url` would. */
export function withExternalDatabase(values: Record<string, unknown>): Record<string, unknown> {
  const { "gonka:databasePassword": _pw, ...rest } = values;
  return { ...rest, "gonka:database": { kind: "external", url: DUMMY_SECRETS["gonka:database.url"] } };
}
