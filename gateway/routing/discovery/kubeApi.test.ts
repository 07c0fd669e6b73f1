import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KubeApiConfigError, kubeApiFromEnv } from "./kubeApi.ts";

// The CA is only parsed when a connection is made; here no connection is made.
describe("kubeApiFromEnv", () => {
  it("uses GONKA_KUBE_API_URL as is, without credentials", async () => {
    const api = kubeApiFromEnv({ GONKA_KUBE_API_URL: "http://127.0.0.1:8001/" }, "/nonexistent");
    expect(api.baseUrl).toBe("http://127.0.0.1:8001");
    expect(api.headers()).toEqual({});
    await api.close();
  });

  it("in a pod, uses the service host and port, and reads the rotating token on every request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sa-"));
    writeFileSync(join(dir, "ca.crt"), "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
    writeFileSync(join(dir, "token"), "first\n");
    const api = kubeApiFromEnv({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }, dir);
    expect(api.baseUrl).toBe("https://[fd00::1]:443");
    expect(api.headers()).toEqual({ authorization: "Bearer first" });
    writeFileSync(join(dir, "token"), "rotated");
    expect(api.headers()).toEqual({ authorization: "Bearer rotated" });
    await api.close();
    rmSync(dir, { recursive: true });
  });

  it("says what is missing outside a pod, or when the service account is not mounted", () => {
    expect(() => kubeApiFromEnv({})).toThrow(KubeApiConfigError);
    expect(() => kubeApiFromEnv({})).toThrow(/not in a pod .* GONKA_KUBE_API_URL is not set/);
    expect(() =>
      kubeApiFromEnv({ KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" }, "/nonexistent"),
    ).toThrow(/cannot read the pod's service-account credentials in \/nonexistent/);
  });
});
