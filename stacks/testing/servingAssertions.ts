/**
 * Checks that a stack would actually serve (issue 19) and keeps its private surfaces private
 * (issue 9 items 8 and 10), read from the resources the program registered under mocks. Each
 * check names the defect it guards against; `stack.*.test.ts` run them for every environment
 * on both targets.
 */
import { expect } from "vitest";
import { getPreset } from "../../catalog/index.ts";
import { parseStackConfig, type StackConfig } from "../config.ts";
import { engineArgvProblems } from "../specs/images.ts";
import { LWS_EXCLUSIVE_TOPOLOGY } from "../specs/k8sModelServer.ts";
import { type CapturedResource, SECRET_SIG_KEY, type StackRun } from "./runStack.ts";
import { engineViews, unwrapSecrets } from "./stackAssertions.ts";
import { projectConfig } from "./stackFiles.ts";

type Any = Record<string, any>;

function props(r: CapturedResource): Any {
  return unwrapSecrets(r.inputs) as Any;
}

function ofType(run: StackRun, type: string): CapturedResource[] {
  return run.resources.filter((r) => r.type === type);
}

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const isSecret = (v: unknown) => Boolean(v && typeof v === "object" && SECRET_SIG_KEY in (v as object));

export function assertServes(run: StackRun, values: Record<string, unknown>): void {
  const projected = projectConfig(values);
  const cfg = parseStackConfig(projected, Object.keys(projected));
  // Items 3 and 4: ENTRYPOINT + container overrides run the engine exactly once.
  for (const v of engineViews(run.resources))
    expect(engineArgvProblems(getPreset(v.model).engine, v.command), `${v.model} ${v.role} argv`).toEqual([]);
  if (cfg.target === "kubernetes") assertKubernetes(run, cfg);
  else assertDocker(run, cfg);
  const gw = JSON.parse(run.outputs["gatewayConfig"] as string);
  expect(gw.opsListen.port).toBe(8081);
  expect(run.outputs["adminUrl"]).toBe(run.outputs["opsUrl"]);
  expect(String(run.outputs["opsUrl"])).toMatch(/^http:\/\/[^/]+:8081$/);
  expect(run.outputs["opsUrl"]).not.toBe(run.outputs["gatewayUrl"]);
}

function assertKubernetes(run: StackRun, cfg: StackConfig): void {
  const services = ofType(run, "kubernetes:core/v1:Service").map(props);
  const lws = ofType(run, "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet").map(props);
  // Item 1: the LWS controller's headless Service needs the LWS name to itself.
  for (const l of lws) {
    expect(services.map((s) => s.metadata.name)).not.toContain(l.metadata.name);
    // Item 6: one group per fabric domain, RDMA and NCCL settings on both roles.
    if (cfg.fabric.rdma) {
      expect(l.metadata.annotations?.[LWS_EXCLUSIVE_TOPOLOGY]).toBe(cfg.fabric.exclusiveTopology);
      for (const role of ["leaderTemplate", "workerTemplate"]) {
        const c = l.spec.leaderWorkerTemplate[role].spec.containers[0];
        expect(c.resources.limits[cfg.fabric.rdmaResource]).toBe("1");
        expect(c.securityContext.capabilities.add).toContain("IPC_LOCK");
        const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.value]));
        expect(env).toMatchObject({
          NCCL_IB_HCA: cfg.fabric.ibHca,
          NCCL_SOCKET_IFNAME: cfg.fabric.socketIfname,
          GLOO_SOCKET_IFNAME: cfg.fabric.socketIfname,
        });
      }
    }
    // Item 11: workers serve no HTTP, so they carry no scrape annotations.
    expect(l.spec.leaderWorkerTemplate.workerTemplate.metadata.annotations).toBeUndefined();
  }
  expect(lws.length).toBe(cfg.models.filter((m) => m.layout.nodes > 1).length);

  const engines = [
    ...ofType(run, "kubernetes:apps/v1:Deployment")
      .map(props)
      .filter((p) => p.metadata?.labels?.["gonka.ai/model"])
      .map((p) => p.spec.template),
    ...lws.flatMap((l) => [
      l.spec.leaderWorkerTemplate.leaderTemplate,
      l.spec.leaderWorkerTemplate.workerTemplate,
    ]),
  ];
  expect(engines.length).toBeGreaterThan(0);
  for (const t of engines) {
    const c = t.spec.containers[0];
    const preset = getPreset(t.metadata.labels["gonka.ai/model"]);
    // Item 2: HF_HOME (trust-remote-code writes $HF_HOME/modules) is a writable emptyDir.
    const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e]));
    const hfMount = c.volumeMounts.find((m: Any) => env["HF_HOME"].value.startsWith(m.mountPath));
    expect(hfMount?.readOnly).not.toBe(true);
    expect(t.spec.volumes.find((v: Any) => v.name === hfMount.name)?.emptyDir).toBeDefined();
    // Issue 9 item 10: the engine key comes from a Secret, in the env var the engine reads.
    const keyVar = preset.engine === "vllm" ? "VLLM_API_KEY" : "LLAMA_API_KEY";
    expect(env[keyVar]?.valueFrom?.secretKeyRef?.key).toBe("apiKey");
    if (cfg.kubernetes.gpuScheduling === "gpu-operator") expect(t.spec.runtimeClassName).toBe("nvidia");
  }

  // Issue 9 item 8: ops listener in the Service, not in the Ingress; scrape on the ops port.
  const gwSvc = services.find((s) => s.metadata.name === "gonka-gateway");
  expect(gwSvc?.spec.ports.map((p: Any) => [p.name, p.port])).toEqual([
    ["http", cfg.gateway.port],
    ["ops", 8081],
  ]);
  for (const ing of ofType(run, "kubernetes:networking.k8s.io/v1:Ingress").map(props)) {
    const paths = ing.spec.rules.flatMap((r: Any) => r.http.paths);
    expect(paths.map((p: Any) => p.path).sort()).toEqual(["/healthz", "/v1"]);
    for (const p of paths) expect(p.backend.service.port).toEqual({ name: "http" });
  }
  const gwDeployment = ofType(run, "kubernetes:apps/v1:Deployment")
    .map(props)
    .find((d) => d.metadata.name === "gonka-gateway") as Any;
  const pod = gwDeployment.spec.template;
  expect(pod.metadata.annotations["prometheus.io/port"]).toBe("8081");
  const gwc = pod.spec.containers[0];
  expect(gwc.readinessProbe.httpGet).toEqual({ path: "/readyz", port: cfg.gateway.port });
  expect(gwc.livenessProbe.httpGet).toEqual({ path: "/healthz", port: cfg.gateway.port });
  const gwEnv = Object.fromEntries(gwc.env.map((e: Any) => [e.name, e]));
  for (const name of ["GONKA_ADMIN_KEY", "GONKA_ENGINE_API_KEY", "REDIS_URL"])
    expect(gwEnv[name]?.valueFrom?.secretKeyRef, name).toBeDefined();
  expect(JSON.parse(run.outputs["gatewayConfig"] as string).opsListen.host).toBe("0.0.0.0");

  // Redis: a password from a Secret and noeviction.
  const redis = ofType(run, "kubernetes:apps/v1:Deployment")
    .map(props)
    .find((d) => d.metadata.name === "gonka-redis");
  const rc = redis?.spec.template.spec.containers[0];
  expect(flag(rc.args, "--maxmemory-policy")).toBe("noeviction");
  expect(flag(rc.args, "--requirepass")).toBe("$(REDIS_PASSWORD)");
  expect(rc.env[0].valueFrom.secretKeyRef.key).toBe("redisPassword");

  // Item 5: device-plugin mode brings GFD + NFD, whose labels the pods and dcgm-exporter select.
  for (const chart of ofType(run, "kubernetes:helm.sh/v4:Chart").map(props))
    if (chart.chart === "nvidia-device-plugin")
      expect(chart.values).toMatchObject({ gfd: { enabled: true }, nfd: { enabled: true } });
  for (const ds of ofType(run, "kubernetes:apps/v1:DaemonSet").map(props)) {
    expect(JSON.stringify(ds)).not.toContain("nvidia.com/gpu.present");
    // Item 11: the security context upstream's manifests give dcgm-exporter.
    expect(ds.spec.template.spec.containers[0].securityContext.capabilities.add).toEqual(["SYS_ADMIN"]);
  }
  // Item 11: weight staging uses Xet's high-performance mode, not the no-op hf_transfer.
  for (const job of ofType(run, "kubernetes:batch/v1:Job").map(props)) {
    const names = job.spec.template.spec.containers[0].env.map((e: Any) => e.name);
    expect(names).toContain("HF_XET_HIGH_PERFORMANCE");
    expect(names).not.toContain("HF_HUB_ENABLE_HF_TRANSFER");
    expect(job.spec.template.spec.containers[0].resources.requests.memory).toBe("64Gi");
  }
}

function assertDocker(run: StackRun, cfg: StackConfig): void {
  const hosts = new Map(cfg.docker.hosts.map((h) => [h.name, h]));
  const gatewayHost = cfg.docker.gatewayHost ?? cfg.docker.hosts[0]!.name;
  const containers = ofType(run, "docker:index/container:Container");
  const engines = containers.filter((r) =>
    ((props(r).labels ?? []) as Any[]).some((l) => l.label === "gonka.ai/model"),
  );
  expect(engines.length).toBeGreaterThan(0);
  const masterPorts = new Map<string, Set<string>>();
  for (const r of engines) {
    const p = props(r);
    const env = Object.fromEntries((p.envs as string[]).map((e) => e.split(/=(.*)/s).slice(0, 2)));
    const model = p.labels.find((l: Any) => l.label === "gonka.ai/model").value;
    const preset = getPreset(model);
    // Issue 9 item 10: the key rides in a secret-wrapped env list, under the engine's own variable.
    expect(isSecret(r.inputs["envs"]), `${r.name} envs secret`).toBe(true);
    expect(env[preset.engine === "vllm" ? "VLLM_API_KEY" : "LLAMA_API_KEY"]).toBeTruthy();
    // Published only on loopback or a private address, never on every interface.
    for (const port of p.ports ?? []) {
      expect(port.ip, `${r.name} published on all interfaces`).toBeDefined();
      const allowed = ["127.0.0.1", ...cfg.docker.hosts.map((h) => h.privateAddress).filter(Boolean)];
      expect(allowed).toContain(port.ip);
    }
    if (p.networkMode === "host") {
      // Item 6: rendezvous and HTTP bind on the private network, RDMA devices, distinct master ports.
      const argv = p.command as string[];
      const masterAddr = flag(argv, "--master-addr");
      expect(cfg.docker.hosts.map((h) => h.privateAddress)).toContain(masterAddr);
      expect(cfg.docker.hosts.map((h) => h.privateAddress)).toContain(env["VLLM_HOST_IP"]);
      expect(env["NCCL_SOCKET_IFNAME"]).toBe(cfg.fabric.socketIfname);
      expect(env["GLOO_SOCKET_IFNAME"]).toBe(cfg.fabric.socketIfname);
      expect(flag(argv, "--host")).not.toBe("0.0.0.0");
      if (cfg.fabric.rdma) {
        expect(p.devices).toEqual([expect.objectContaining({ hostPath: "/dev/infiniband" })]);
        expect(p.capabilities.adds).toContain("IPC_LOCK");
      }
      if (flag(argv, "--node-rank") === "0") {
        const key = String(masterAddr);
        const seen = masterPorts.get(key) ?? new Set<string>();
        const port = String(flag(argv, "--master-port"));
        expect(seen.has(port), `master port ${port} reused on ${key}`).toBe(false);
        seen.add(port);
        masterPorts.set(key, seen);
      }
    }
  }
  // Replica URLs the gateway uses: loopback on its own host, private addresses elsewhere.
  const urls = (run.outputs["models"] as { replicaUrls: string[] }[]).flatMap((m) => m.replicaUrls);
  for (const u of urls) {
    const host = new URL(u).hostname;
    const allowed = ["127.0.0.1", ...[...hosts.values()].map((h) => h.privateAddress)];
    expect(allowed).toContain(host);
  }
  const gw = containers.map(props).find((p) => p.name === "gonka-gateway");
  expect(gw?.networkMode).toBe("host");
  const gwEnvs = containers.find((r) => props(r).name === "gonka-gateway")!.inputs["envs"];
  expect(isSecret(gwEnvs)).toBe(true);
  const gwEnv = (unwrapSecrets(gwEnvs) as string[]).map((e) => e.split("=")[0]);
  expect(gwEnv).toEqual(expect.arrayContaining(["GONKA_ENGINE_API_KEY", "REDIS_URL", "GONKA_ADMIN_KEY"]));
  const ops = JSON.parse(run.outputs["gatewayConfig"] as string).opsListen.host;
  expect([hosts.get(gatewayHost)?.privateAddress ?? "127.0.0.1"]).toContain(ops);
  const redis = containers.find((r) => props(r).name === "gonka-redis")!;
  expect(isSecret(redis.inputs["command"])).toBe(true);
  const redisArgv = props(redis).command as string[];
  expect(flag(redisArgv, "--maxmemory-policy")).toBe("noeviction");
  expect(flag(redisArgv, "--requirepass")).toBeTruthy();
  expect(props(redis).ports).toEqual([expect.objectContaining({ ip: "127.0.0.1" })]);
}
