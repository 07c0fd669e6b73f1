import { expect, it } from "vitest";
import { withExternalDatabase } from "./testing/databaseVariants.ts";
import { runStackExpectingError } from "./testing/runStack.ts";

// `pulumi config set --path gonka:database.url …` without --secret: the password would sit in
// Pulumi.<env>.yaml and in the state, so the program refuses before creating anything.
it("a database URL set without --secret fails before any resource is created", async () => {
  const { error, registered } = await runStackExpectingError("prod", withExternalDatabase, [
    "gonka:database",
  ]);
  expect(error.message).toMatch(
    /gonka:database\.url is in plain text; set it with `pulumi config set --secret --path gonka:database\.url <url>`/,
  );
  expect(registered).toBe(0);
});
