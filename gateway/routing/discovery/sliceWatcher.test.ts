import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeKubeApi } from "../../test/fakeKubeApi.ts";
import { until } from "../../test/poll.ts";
import type { EndpointSlice } from "./endpointSlices.ts";
import { kubeApiFromEnv } from "./kubeApi.ts";
import { EndpointSliceWatcher } from "./sliceWatcher.ts";

// The in-cluster path end to end: HTTPS with the cluster CA from the service-account folder,
// a bearer token that the kubelet rotates under a running watch.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sa-"));
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "ca.crt"), "-days", "1"],
      ...["-subj", "/CN=kubernetes", "-addext", "subjectAltName=IP:127.0.0.1"],
    ],
    { stdio: "ignore" },
  );
  writeFileSync(join(dir, "token"), "token-1");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const slice = (name: string): EndpointSlice => ({
  metadata: { name, labels: { "kubernetes.io/service-name": "engines" } },
  addressType: "IPv4",
  endpoints: [{ addresses: ["10.0.0.1"], targetRef: { kind: "Pod", name } }],
  ports: [{ name: "http", port: 8000 }],
});

describe("EndpointSliceWatcher in a pod", () => {
  it("lists and watches over TLS with the service account, and follows a rotated token", async () => {
    const tls = {
      key: readFileSync(join(dir, "key.pem"), "utf8"),
      cert: readFileSync(join(dir, "ca.crt"), "utf8"),
    };
    const api = await startFakeKubeApi("models", { tls, token: "token-1" });
    api.apply(slice("pod-a"));
    // Another Service's slice in the namespace is not ours.
    api.apply({
      ...slice("other"),
      metadata: { name: "other", labels: { "kubernetes.io/service-name": "x" } },
    });
    const kube = kubeApiFromEnv(
      { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(api.port) },
      dir,
    );
    const seen: string[][] = [];
    const errors: string[] = [];
    const watcher = new EndpointSliceWatcher({
      api: kube,
      namespace: "models",
      service: "engines",
      backoffMs: 20,
      maxBackoffMs: 50,
      onSlices: (slices) => seen.push(slices.map((s) => s.metadata.name).sort()),
      onError: (m) => errors.push(m),
    });
    try {
      watcher.start();
      await until(() => api.openWatches() === 1, "watching");
      expect(seen).toEqual([["pod-a"]]);
      api.apply(slice("pod-b"));
      await until(() => seen.length === 2, "the watch event arrived");
      expect(seen[1]).toEqual(["pod-a", "pod-b"]);

      // The kubelet rotates the token; the API server stops taking the old one.
      writeFileSync(join(dir, "token"), "token-2");
      api.requireToken("token-2");
      api.endWatches("clean");
      api.remove("pod-a");
      await until(() => seen.at(-1)?.join() === "pod-b", "resumed with the new token");
      expect(errors).toEqual([]);

      // A revoked token: reported (without addresses), retried with backoff, recovered.
      api.requireToken("token-3");
      api.endWatches("clean");
      await until(() => errors.length > 0, "the 401 is reported");
      expect(errors[0]).toBe(
        "Kubernetes API answered 401 to watch endpointslices in namespace models: Unauthorized",
      );
      writeFileSync(join(dir, "token"), "token-3");
      api.apply(slice("pod-c"));
      await until(() => seen.at(-1)?.join() === "pod-b,pod-c", "recovered");
    } finally {
      await watcher.stop();
      await kube.close();
      await api.close();
    }
  });

  it("reports an unreachable API server by error code, not by address", async () => {
    const api = await startFakeKubeApi("models");
    await api.close();
    const kube = kubeApiFromEnv({ GONKA_KUBE_API_URL: api.url });
    const errors: string[] = [];
    const watcher = new EndpointSliceWatcher({
      api: kube,
      namespace: "models",
      service: "engines",
      backoffMs: 20,
      onSlices: () => {},
      onError: (m) => errors.push(m),
    });
    watcher.start();
    await until(() => errors.length >= 2, "retried");
    await watcher.stop();
    await kube.close();
    expect(errors[0]).toBe("cannot reach the Kubernetes API (ECONNREFUSED)");
  });
});
