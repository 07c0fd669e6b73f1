/**
 * Test child for sqliteImporter.test.ts: imports one row and closes the importer with
 * nothing else keeping the process alive; prints `closed <rows>` when close() resolved.
 * Usage: node gateway/metering/importerChild.ts <dataDir>
 */
import { openStore } from "../store/index.ts";
import { usageRow } from "../store/testing.ts";
import { sqliteImporter } from "./sqliteImporter.ts";

const store = await openStore({ dataDir: process.argv[2]! });
const importer = sqliteImporter({ file: store.location });
await importer.recordMany([usageRow()]);
await importer.close();
process.stdout.write(`closed ${await store.usage.count()}\n`);
await store.close();
