import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import type { EndpointSlice } from "./endpointSlices.ts";
import type { KubeApi } from "./kubeApi.ts";

export interface SliceWatcherOptions {
  readonly api: KubeApi;
  readonly namespace: string;
  readonly service: string;
  /** The Service's whole current slice set, after the first list and after every change. */
  readonly onSlices: (slices: EndpointSlice[]) => void;
  /** A list or watch failed (the watcher retries by itself); the message names no address. */
  readonly onError: (message: string) => void;
  /** A watch is established again: whatever failed before has recovered. */
  readonly onWatching?: () => void;
  /** First retry delay after a failure; doubles up to `maxBackoffMs`. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Asks the API server to end each watch after this long (then it resumes from where it was). */
  readonly watchTimeoutSeconds?: number;
}

type WatchEvent = {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: EndpointSlice & { code?: number; message?: string; reason?: string };
};

/** The API server no longer has the resourceVersion we resume from: list again. */
class Expired extends Error {}

const LIST_TIMEOUT_MS = 15_000;

/**
 * Keeps a Service's EndpointSlices current, the way client-go's reflector does: list (which
 * gives a resourceVersion), then watch from that version (newline-delimited JSON events),
 * following BOOKMARK events so a resumed watch starts from the newest version. When the watch
 * ends it resumes from the last version without listing; a 410 Gone (the version is too old,
 * as a status or as an ERROR event) lists again. Failures retry with exponential backoff and
 * jitter; until a list succeeds, nothing is reported, and afterwards the last known set
 * stands (pods keep serving while the API server is away).
 */
export class EndpointSliceWatcher {
  private readonly opts: SliceWatcherOptions;
  private readonly abort = new AbortController();
  private readonly slices = new Map<string, EndpointSlice>();
  private loop: Promise<void> | undefined;
  private readonly path: string;

  constructor(opts: SliceWatcherOptions) {
    this.opts = opts;
    const selector = encodeURIComponent(`kubernetes.io/service-name=${opts.service}`);
    this.path = `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/endpointslices?labelSelector=${selector}`;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const initial = this.opts.backoffMs ?? 500;
    let backoff = initial;
    let version: string | undefined;
    while (!this.abort.signal.aborted) {
      try {
        if (version === undefined) {
          version = await this.list();
          this.opts.onSlices([...this.slices.values()]);
          backoff = initial;
        }
        const started = Date.now();
        const { resumeFrom, events } = await this.watch(version);
        version = resumeFrom;
        // A watch the server ends at once, again and again, must not turn into a busy loop.
        if (events === 0 && Date.now() - started < 1_000) await this.pause(backoff);
        else backoff = initial;
      } catch (err) {
        if (this.abort.signal.aborted) break;
        if (err instanceof Expired) {
          version = undefined;
          continue;
        }
        this.opts.onError(describe(err));
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, this.opts.maxBackoffMs ?? 30_000);
      }
    }
  }

  /**
   * Replaces the known slices with a fresh list; returns its resourceVersion. Without a
   * `limit` the API server answers in one piece: one Service has a handful of slices.
   */
  private async list(): Promise<string> {
    const res = await request(`${this.opts.api.baseUrl}${this.path}`, {
      dispatcher: this.opts.api.dispatcher,
      headers: { accept: "application/json", ...this.opts.api.headers() },
      signal: this.abort.signal,
      headersTimeout: LIST_TIMEOUT_MS,
      bodyTimeout: LIST_TIMEOUT_MS,
    });
    if (res.statusCode !== 200) throw await apiError(res, "list", this.opts.namespace);
    const body = (await res.body.json()) as {
      items?: EndpointSlice[];
      metadata?: { resourceVersion?: string };
    };
    this.slices.clear();
    for (const slice of body.items ?? []) this.slices.set(slice.metadata.name, slice);
    return body.metadata?.resourceVersion ?? "";
  }

  /** Follows one watch until the server ends it; returns the version to resume from. */
  private async watch(from: string): Promise<{ resumeFrom: string; events: number }> {
    const timeout = this.opts.watchTimeoutSeconds ?? 300;
    const query = `&watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(from)}&timeoutSeconds=${timeout}`;
    const res = await request(`${this.opts.api.baseUrl}${this.path}${query}`, {
      dispatcher: this.opts.api.dispatcher,
      headers: { accept: "application/json", ...this.opts.api.headers() },
      signal: this.abort.signal,
      headersTimeout: LIST_TIMEOUT_MS,
      // Silence past the server's own timeout means a dead connection, not a quiet Service.
      bodyTimeout: (timeout + 30) * 1000,
    });
    if (res.statusCode === 410) {
      await res.body.dump();
      throw new Expired();
    }
    if (res.statusCode !== 200) throw await apiError(res, "watch", this.opts.namespace);
    this.opts.onWatching?.();
    let version = from;
    let events = 0;
    let buffered = "";
    res.body.setEncoding("utf8");
    for await (const chunk of res.body as AsyncIterable<string>) {
      buffered += chunk;
      let newline = buffered.indexOf("\n");
      while (newline !== -1) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf("\n");
        if (!line) continue;
        events++;
        version = this.apply(JSON.parse(line) as WatchEvent) ?? version;
      }
    }
    return { resumeFrom: version, events };
  }

  /** Applies one watch event; returns the resourceVersion it carries. */
  private apply(event: WatchEvent): string | undefined {
    const { type, object } = event;
    if (type === "ERROR") {
      if (object.code === 410) throw new Expired();
      throw new Error(`watch error ${object.code ?? "?"}: ${object.message ?? object.reason ?? "unknown"}`);
    }
    const version = object.metadata?.resourceVersion;
    if (type === "BOOKMARK") return version;
    if (type === "DELETED") this.slices.delete(object.metadata.name);
    else this.slices.set(object.metadata.name, object);
    this.opts.onSlices([...this.slices.values()]);
    return version;
  }

  private async pause(ms: number): Promise<void> {
    // Jitter, so that many gateway replicas do not retry in step against a recovering API server.
    await sleep(ms / 2 + Math.random() * (ms / 2), undefined, { signal: this.abort.signal }).catch(() => {});
  }
}

async function apiError(
  res: { statusCode: number; body: { text(): Promise<string> } },
  verb: string,
  namespace: string,
): Promise<Error> {
  const text = await res.body.text().catch(() => "");
  let message = "";
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? "";
  } catch {}
  return new Error(
    `Kubernetes API answered ${res.statusCode} to ${verb} endpointslices in namespace ${namespace}${message ? `: ${message.slice(0, 300)}` : ""}`,
  );
}

/** A failure in words that name no internal address (they reach /readyz and /health/models). */
function describe(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code && !(err as Error).message.startsWith("Kubernetes API")) {
    return `cannot reach the Kubernetes API (${code})`;
  }
  return (err as Error).message;
}
