/**
 * Moves usage-row imports into SQLite off the event loop: one worker thread (importWorker.ts)
 * with its own write connection does the inserts; the event loop only hands it the batch.
 * better-sqlite3 is synchronous, so a 500-row batch imported on the main thread stalled
 * every request in flight for ~30 ms (the tail the issue measured); WAL mode lets the two
 * connections coexist (readers never wait, writers take turns under busy_timeout).
 *
 * Durability is unchanged: the journal deletes a segment only after recordMany() resolves,
 * which is after the worker's transaction has committed. If the worker dies, its pending
 * batches reject (the journal keeps them and retries) and the next batch starts a new one.
 */
import { basename, dirname } from "node:path";
import { Worker } from "node:worker_threads";
import type { UsageRow } from "../store/usage.ts";
import type { ImportReply, ImportRequest, ImportWorkerData } from "./importWorker.ts";

export interface UsageImporter {
  recordMany(rows: readonly UsageRow[]): Promise<void>;
  /**
   * Imports a sealed journal segment: the worker reads and parses the file itself, so the
   * event loop does not even copy the rows (structured clone of a 500-row batch is ~1 ms).
   */
  importFile(path: string): Promise<void>;
  close(): Promise<void>;
}

export interface SqliteImporterOptions {
  /** The SQLite file (the store's `location`). */
  file: string;
  synchronous?: "NORMAL" | "FULL";
  busyTimeoutMs?: number;
}

const WORKER = new URL("./importWorker.ts", import.meta.url);

export function sqliteImporter(opts: SqliteImporterOptions): UsageImporter {
  const data: ImportWorkerData = {
    dataDir: dirname(opts.file),
    fileName: basename(opts.file),
    synchronous: opts.synchronous ?? "NORMAL",
    ...(opts.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: opts.busyTimeoutMs }),
  };
  let worker: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve(): void; reject(err: Error): void }>();

  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const start = (): Worker => {
    const w = new Worker(WORKER, { workerData: data });
    // Idle, the worker must not keep the process alive; busy, it must (see recordMany).
    w.unref();
    w.on("message", (reply: ImportReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) w.unref();
      if ("error" in reply) p.reject(new Error(reply.error));
      else p.resolve();
    });
    w.on("error", (err) => {
      if (worker === w) worker = undefined;
      failAll(err);
    });
    w.on("exit", (code) => {
      if (worker === w) worker = undefined;
      failAll(new Error(`usage import worker exited with code ${code}`));
    });
    return w;
  };

  // Started now, at the gateway's start, so the first batch does not wait for it to boot.
  worker = start();

  const post = (request: Omit<ImportRequest, "id">): Promise<void> => {
    worker ??= start();
    const w = worker;
    const id = nextId++;
    return new Promise<void>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ id, ...request } as ImportRequest);
    });
  };

  return {
    recordMany: (rows) => (rows.length === 0 ? Promise.resolve() : post({ rows: [...rows] })),
    importFile: (file) => post({ file }),
    async close() {
      const w = worker;
      worker = undefined;
      if (!w) return;
      if (w.threadId === -1) return; // already gone
      const exited = new Promise<void>((resolve) => w.once("exit", () => resolve()));
      // Referenced until it has closed its connection: nothing else may keep the process alive.
      w.ref();
      w.postMessage("close");
      await exited;
    },
  };
}
