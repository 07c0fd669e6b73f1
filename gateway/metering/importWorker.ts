/**
 * The worker thread behind sqliteImporter.ts: owns its own connection to the gateway's
 * SQLite file and inserts batches of usage rows, so a batch's synchronous inserts (about
 * 60 µs a row with the table's indexes) never run on the gateway's event loop.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openSqlite } from "../store/sqlite/database.ts";
import { createSqliteUsageLedger } from "../store/sqlite/sqliteUsage.ts";
import type { UsageRow } from "../store/usage.ts";
import { readJournal } from "./journalFiles.ts";

export interface ImportWorkerData {
  dataDir: string;
  fileName: string;
  synchronous: "NORMAL" | "FULL";
  busyTimeoutMs?: number;
}
/** Rows to insert, or a sealed journal segment to read them from (nothing to copy across threads). */
export type ImportRequest = { id: number; rows: UsageRow[] } | { id: number; file: string };
export type ImportReply = { id: number } | { id: number; error: string };

const opts = workerData as ImportWorkerData;
// The main thread has migrated the file already; this only checks the schema is known.
const { db } = openSqlite({
  dataDir: opts.dataDir,
  fileName: opts.fileName,
  synchronous: opts.synchronous,
  ...(opts.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: opts.busyTimeoutMs }),
});
const ledger = createSqliteUsageLedger(db);

parentPort!.on("message", async (msg: ImportRequest | "close") => {
  if (msg === "close") {
    db.close();
    parentPort!.close();
    return;
  }
  try {
    await ledger.recordMany("file" in msg ? readJournal(msg.file) : msg.rows);
    parentPort!.postMessage({ id: msg.id } satisfies ImportReply);
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message } satisfies ImportReply);
  }
});
