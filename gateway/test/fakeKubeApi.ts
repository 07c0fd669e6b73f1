import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { EndpointSlice } from "../routing/discovery/endpointSlices.ts";

/**
 * Test equipment: the slice of the Kubernetes API server the gateway's discovery talks to,
 * on 127.0.0.1. It serves `GET /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices`
 * with a `labelSelector`, as a list (with `metadata.resourceVersion`) and as a watch
 * (`watch=1&resourceVersion=…`: newline-delimited JSON events over a chunked response that
 * stays open), with the server's resourceVersion semantics: events after the given version
 * are replayed, a version older than the compacted history is 410 Gone, and BOOKMARK
 * events are sent only to watches that asked for them (`allowWatchBookmarks=true`).
 */
export interface FakeKubeApi {
  readonly url: string;
  readonly port: number;
  /** From now on, only this bearer token is accepted (a rotated service-account token). */
  requireToken(token: string): void;
  /** Every request, in order: path and query, for asserting what the client asked. */
  readonly requests: URL[];
  /** Adds or replaces a slice (ADDED or MODIFIED for watchers). */
  apply(slice: EndpointSlice): void;
  remove(name: string): void;
  /** Sends a BOOKMARK with the current resourceVersion to every open watch. */
  bookmark(): void;
  /** Forgets history up to now: a watch from an older version gets 410 Gone. */
  compact(): void;
  /** Ends every open watch: `error410` as the API server does after compaction, else cleanly. */
  endWatches(how: "clean" | "error410"): void;
  /** Answers every request with this status and a Status body until cleared (null). */
  failWith(status: number | null): void;
  openWatches(): number;
  /** The newest resourceVersion. */
  version(): number;
  close(): Promise<void>;
}

interface Event {
  rv: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: EndpointSlice;
}

export interface FakeKubeApiOptions {
  /** Serve HTTPS with this key and certificate, as the real API server does. */
  readonly tls?: { key: string; cert: string };
  /** Require `Authorization: Bearer <token>` (401 otherwise); changeable with `requireToken`. */
  readonly token?: string;
}

export async function startFakeKubeApi(
  namespace: string,
  options: FakeKubeApiOptions = {},
): Promise<FakeKubeApi> {
  let token = options.token;
  let rv = 100;
  let compactedAt = 0;
  let failing: number | null = null;
  const slices = new Map<string, EndpointSlice>();
  const history: Event[] = [];
  const requests: URL[] = [];
  const watches = new Set<{ res: ServerResponse; selector: string; bookmarks: boolean }>();
  const prefix = `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;

  const matches = (slice: EndpointSlice, selector: string) => {
    const [key, value] = selector.split("=");
    return slice.metadata.labels?.[key!] === value;
  };
  const stamp = (slice: EndpointSlice): EndpointSlice => ({
    ...structuredClone(slice),
    metadata: { ...slice.metadata, namespace, resourceVersion: String(rv) },
  });
  const status = (res: ServerResponse, code: number, reason: string, message: string) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code }));
  };
  const publish = (event: Event) => {
    history.push(event);
    for (const w of watches) {
      if (matches(event.object, w.selector))
        w.res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://fake");
    requests.push(url);
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      return status(res, 401, "Unauthorized", "Unauthorized");
    }
    if (failing !== null)
      return status(
        res,
        failing,
        "Forbidden",
        `endpointslices.discovery.k8s.io is forbidden (status ${failing})`,
      );
    if (req.method !== "GET" || url.pathname !== prefix)
      return status(res, 404, "NotFound", "the server could not find the requested resource");
    const selector = url.searchParams.get("labelSelector") ?? "";
    if (url.searchParams.get("watch") !== "1") {
      const items = [...slices.values()].filter((s) => matches(s, selector));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "EndpointSliceList",
          apiVersion: "discovery.k8s.io/v1",
          metadata: { resourceVersion: String(rv) },
          items,
        }),
      );
      return;
    }
    const from = Number(url.searchParams.get("resourceVersion") ?? "0");
    if (from < compactedAt) {
      return status(res, 410, "Expired", `too old resource version: ${from} (${compactedAt})`);
    }
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    const watch = { res, selector, bookmarks: url.searchParams.get("allowWatchBookmarks") === "true" };
    watches.add(watch);
    res.on("close", () => watches.delete(watch));
    for (const e of history) {
      if (e.rv > from && matches(e.object, selector))
        res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    }
  };
  const server = options.tls ? createTlsServer(options.tls, handle) : createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    requireToken(next) {
      token = next;
    },
    requests,
    apply(slice) {
      rv++;
      const type = slices.has(slice.metadata.name) ? "MODIFIED" : "ADDED";
      const object = stamp(slice);
      slices.set(slice.metadata.name, object);
      publish({ rv, type, object });
    },
    remove(name) {
      const old = slices.get(name);
      if (!old) return;
      rv++;
      slices.delete(name);
      publish({ rv, type: "DELETED", object: stamp(old) });
    },
    bookmark() {
      rv++;
      for (const w of watches) {
        if (!w.bookmarks) continue;
        const object = {
          kind: "EndpointSlice",
          apiVersion: "discovery.k8s.io/v1",
          metadata: { resourceVersion: String(rv) },
        };
        w.res.write(`${JSON.stringify({ type: "BOOKMARK", object })}\n`);
      }
    },
    compact() {
      compactedAt = rv;
      history.length = 0;
    },
    endWatches(how) {
      for (const w of watches) {
        if (how === "error410") {
          const object = {
            kind: "Status",
            apiVersion: "v1",
            status: "Failure",
            reason: "Expired",
            code: 410,
            message: "too old resource version",
          };
          w.res.write(`${JSON.stringify({ type: "ERROR", object })}\n`);
        }
        w.res.end();
      }
      watches.clear();
    },
    failWith(code) {
      failing = code;
    },
    openWatches: () => watches.size,
    version: () => rv,
    async close() {
      for (const w of watches) w.res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
