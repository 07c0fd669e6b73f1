/**
 * Test fixture: records usage rows, reports each one to the parent on stdout (standing in
 * for "the response was sent"), and keeps going until the parent SIGKILLs it.
 */
import { openStore } from "./index.ts";
import { usageRow } from "./testing.ts";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: usageCrashChild.ts <dataDir>");
const store = openStore({ dataDir });
for (let i = 0; ; i++) {
  const row = usageRow({ requestId: `crash_${i}` });
  store.usage.record(row);
  process.stdout.write(`${row.requestId}\n`);
  // Yield so stdout flushes and the parent can kill us mid-stream.
  if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
}
