/**
 * Test child for usageJournal.test.ts: journals rows forever, printing each request id
 * once record() has returned, until the parent SIGKILLs it.
 * Usage: node gateway/metering/journalChild.ts <dataDir>
 */
import { openStore } from "../store/index.ts";
import { usageRow } from "./testing.ts";
import { UsageJournal } from "./usageJournal.ts";

const dataDir = process.argv[2]!;
const store = openStore({ dataDir });
// A long interval so that most rows are still only in the journal when the kill comes.
const journal = new UsageJournal(store.usage, { dataDir, flushIntervalMs: 60_000, maxPending: 37 });
let n = 0;
const tick = () => {
  for (let i = 0; i < 10; i++) {
    const id = `req_${process.pid}_${n++}`;
    journal.record(usageRow(id));
    process.stdout.write(`${id}\n`);
  }
  setImmediate(tick);
};
tick();
