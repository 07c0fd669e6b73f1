/**
 * Test child for usageJournal.test.ts: journals rows forever, printing each request id
 * once record() has returned, until the parent SIGKILLs it.
 * Usage: node gateway/metering/journalChild.ts <dataDir> <maxPending>
 */
import { openStore } from "../store/index.ts";
import { usageRow } from "../store/testing.ts";
import { UsageJournal } from "./usageJournal.ts";

const dataDir = process.argv[2]!;
const store = await openStore({ dataDir });
// A long interval: rows move into SQLite only when maxPending are waiting, so a kill finds
// some imported and some only in the journal.
const journal = await UsageJournal.open(store.usage, {
  dataDir,
  flushIntervalMs: 60_000,
  maxPending: Number(process.argv[3] ?? 37),
});
let n = 0;
const tick = () => {
  for (let i = 0; i < 10; i++) {
    const id = `req_${process.pid}_${n++}`;
    void journal.record(usageRow({ requestId: id }));
    process.stdout.write(`${id}\n`);
  }
  setImmediate(tick);
};
tick();
