/**
 * Test child for store.contract.test.ts: opens the store as a gateway would (migrations
 * included), prints the versions it applied as JSON, and exits.
 * Usage: node gateway/store/openStoreChild.ts <dataDir> [databaseUrl]
 */
import { openStore } from "./index.ts";

const store = await openStore({ dataDir: process.argv[2]!, databaseUrl: process.argv[3] || undefined });
console.log(JSON.stringify(store.migrationsApplied));
await store.close();
