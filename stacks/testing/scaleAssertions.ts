/**
 * Issue 11 (stacks): every environment × target keeps the gateway's keys and usage in the
 * database its config names (Postgres URL only from a secret), runs the configured gateway
 * replicas as a Deployment with a PDB, readiness, anti-affinity and an HPA, and on
 * Kubernetes lets the gateway route to engine pods (headless Services, read-only RBAC,
 * `discovery` in its config). Read from the resources registered under mocks.
 */
import { expect } from "vitest";
import { gatewayConfigSchema } from "../../gateway/config/schema.ts";
import { parseStackConfig, type StackConfig } from "../config.ts";
import { databaseKind } from "../databaseConfig.ts";
import { POSTGRES_IMAGE } from "../specs/images.ts";
import { k8sName } from "../specs/k8sModelServer.ts";
import { type CapturedResource, SECRET_SIG_KEY, type StackRun } from "./runStack.ts";
import { unwrapSecrets } from "./stackAssertions.ts";
import { DUMMY_SECRETS, projectConfig } from "./stackFiles.ts";

type Any = Record<string, any>;

const props = (r: CapturedResource): Any => unwrapSecrets(r.inputs) as Any;
const ofType = (run: StackRun, type: string) => run.resources.filter((r) => r.type === type);
const isSecret = (v: unknown) => Boolean(v && typeof v === "object" && SECRET_SIG_KEY in (v as object));
const named = (run: StackRun, type: string, name: string) =>
  ofType(run, type).find((r) => props(r).metadata?.name === name || props(r).name === name);

export const CNPG_CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster";
export const CNPG_SCHEDULED_BACKUP = "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup";

/** The CloudNativePG Cluster's inputs, if the run created one. */
export function cnpgCluster(run: StackRun): Any | undefined {
  return ofType(run, CNPG_CLUSTER).map(props)[0];
}

/** The gateway's replica floor as deployed: the HPA's minReplicas, else the Deployment's replicas. */
export function deployedGatewayReplicas(run: StackRun): { min: number; max: number } {
  const hpa = ofType(run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").map(props)[0];
  if (hpa) return { min: hpa.spec.minReplicas, max: hpa.spec.maxReplicas };
  const dep = named(run, "kubernetes:apps/v1:Deployment", "gonka-gateway");
  if (dep) return { min: props(dep).spec.replicas, max: props(dep).spec.replicas };
  const containers = ofType(run, "docker:index/container:Container").filter(
    (r) => props(r).name === "gonka-gateway",
  );
  return { min: containers.length, max: containers.length };
}

export function assertScalesOut(run: StackRun, values: Record<string, unknown>): void {
  const projected = projectConfig(values);
  const cfg = parseStackConfig(projected, Object.keys(projected));
  if (cfg.target === "kubernetes") assertKubernetes(run, cfg);
  else assertDocker(run, cfg);
}

function assertKubernetes(run: StackRun, cfg: StackConfig): void {
  const ns = cfg.kubernetes.namespace;
  const kind = databaseKind(cfg.database, "kubernetes");
  const gw = cfg.gateway;
  // Item 2: a Deployment (no per-pod state), never the old StatefulSet.
  expect(ofType(run, "kubernetes:apps/v1:StatefulSet")).toEqual([]);
  const depRes = named(run, "kubernetes:apps/v1:Deployment", "gonka-gateway");
  expect(depRes, "gateway Deployment").toBeDefined();
  const dep = props(depRes!);
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e]));
  const dataVolume = pod.volumes.find((v: Any) => v.name === "data");

  // Item 1: where GONKA_DATABASE_URL comes from, per database kind; never a literal.
  expect(env["GONKA_DATABASE_URL"]?.value).toBeUndefined();
  const clusters = ofType(run, CNPG_CLUSTER).map(props);
  if (kind === "cnpg") {
    expect(clusters).toHaveLength(1);
    const cl = clusters[0]!;
    expect(cl.metadata).toMatchObject({ name: "gonka-db", namespace: ns });
    expect(cl.spec.instances).toBe(cfg.database.cnpg.instances);
    expect(cl.spec.bootstrap.initdb).toEqual({ database: "gonka", owner: "gonka" });
    expect(cl.spec.storage.size).toBe(cfg.database.cnpg.storageSize);
    const sync = cfg.database.cnpg.synchronousStandbys;
    if (sync > 0)
      expect(cl.spec.postgresql.synchronous).toEqual({
        method: "any",
        number: sync,
        dataDurability: "required",
      });
    else expect(cl.spec.postgresql?.synchronous).toBeUndefined();
    if (cl.spec.instances > 1)
      expect(cl.spec.affinity).toMatchObject({
        podAntiAffinityType: "required",
        topologyKey: "kubernetes.io/hostname",
      });
    // The URL is the operator's own Secret (`<cluster>-app`, key `uri`): no password passes through Pulumi.
    expect(env["GONKA_DATABASE_URL"].valueFrom.secretKeyRef).toEqual({ name: "gonka-db-app", key: "uri" });
    const charts = ofType(run, "kubernetes:helm.sh/v4:Chart").map(props);
    expect(charts.some((ch) => ch.chart === "cloudnative-pg" && ch.version === "0.29.0")).toBe(
      cfg.database.cnpg.installOperator,
    );
    const backups = cfg.database.cnpg.backups;
    const scheduled = ofType(run, CNPG_SCHEDULED_BACKUP).map(props);
    if (backups.kind === "barman") {
      expect(cl.spec.backup.barmanObjectStore.destinationPath).toBe(backups.destinationPath);
      expect(cl.spec.backup.retentionPolicy).toBe(backups.retentionPolicy);
      expect(scheduled.map((s) => s.spec.cluster.name)).toEqual(["gonka-db"]);
    } else {
      expect(cl.spec.backup).toBeUndefined();
      expect(scheduled).toEqual([]);
    }
  } else expect(clusters).toEqual([]);
  if (kind === "external") {
    const secret = named(run, "kubernetes:core/v1:Secret", "gonka-gateway")!;
    // Pulumi marks the whole stringData secret when any value in it is one.
    const stringData = secret.inputs["stringData"] as Any;
    expect(isSecret(stringData) || isSecret(stringData["databaseUrl"]), "databaseUrl is a secret input").toBe(
      true,
    );
    expect(props(secret).stringData.databaseUrl).toBe(DUMMY_SECRETS["gonka:database.url"]);
    expect(env["GONKA_DATABASE_URL"].valueFrom.secretKeyRef).toEqual({
      name: "gonka-gateway",
      key: "databaseUrl",
    });
  }
  if (kind === "sqlite") {
    expect(env["GONKA_DATABASE_URL"]).toBeUndefined();
    expect(dataVolume.persistentVolumeClaim.claimName).toBe("gonka-gateway-data");
    expect(named(run, "kubernetes:core/v1:PersistentVolumeClaim", "gonka-gateway-data")).toBeDefined();
    expect(dep.spec.strategy.type).toBe("Recreate");
    expect(gw.replicas).toBe(1);
  } else {
    // On Postgres no pod owns state: a new pod is ready before an old one goes.
    expect(dataVolume.emptyDir).toBeDefined();
    expect(
      ofType(run, "kubernetes:core/v1:PersistentVolumeClaim").map((r) => props(r).metadata.name),
    ).not.toContain("gonka-gateway-data");
    expect(dep.spec.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
  }

  // Item 2: replicas (HPA floor when autoscaled), PDB, readiness, anti-affinity across nodes.
  const max = gw.maxReplicas ?? (gw.replicas > 1 ? gw.replicas * 2 : 1);
  const hpas = ofType(run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").map(props);
  if (max > gw.replicas) {
    expect(hpas).toHaveLength(1);
    const hpa = hpas[0]!;
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "gonka-gateway",
    });
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([gw.replicas, max]);
    expect(hpa.spec.metrics[0].resource).toMatchObject({
      name: "cpu",
      target: { type: "Utilization", averageUtilization: 70 },
    });
    // The HPA owns the count: a `pulumi up` must not reset it.
    expect(dep.spec.replicas).toBeUndefined();
  } else {
    expect(hpas).toEqual([]);
    expect(dep.spec.replicas).toBe(gw.replicas);
  }
  expect(deployedGatewayReplicas(run).min).toBe(gw.replicas);
  const pdb = ofType(run, "kubernetes:policy/v1:PodDisruptionBudget").map(props)[0];
  expect(pdb?.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: dep.spec.selector.matchLabels } });
  expect(c.readinessProbe.httpGet.path).toBe("/readyz");
  const anti =
    pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
  assertPodDiscovery(run, cfg, pod);
  expect(anti).toEqual({
    labelSelector: { matchLabels: dep.spec.selector.matchLabels },
    topologyKey: "kubernetes.io/hostname",
  });
}

/** Item 3: per-pod routing on Kubernetes: headless Services, read-only RBAC, `discovery` in the config. */
function assertPodDiscovery(run: StackRun, cfg: StackConfig, gatewayPod: Any): void {
  const ns = cfg.kubernetes.namespace;
  const gwConfig = JSON.parse(run.outputs["gatewayConfig"] as string);
  // The generated config is what the gateway's own schema accepts (replicas from discovery only).
  expect(gatewayConfigSchema.safeParse(gwConfig).success).toBe(true);
  const services = ofType(run, "kubernetes:core/v1:Service").map(props);
  const workloads = [
    ...ofType(run, "kubernetes:apps/v1:Deployment").map(props),
    ...ofType(run, "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet").map(props),
  ];
  for (const m of cfg.models) {
    const name = `${k8sName(m.preset.id)}-pods`;
    const entry = gwConfig.models.find((x: Any) => x.id === m.preset.id);
    expect(entry.discovery, `${m.preset.id} discovery`).toEqual({
      kind: "kubernetes",
      namespace: ns,
      service: name,
      portName: "http",
    });
    expect(entry.replicas ?? [], `${m.preset.id}: no static replicas beside discovery`).toEqual([]);
    const headless = services.find((s) => s.metadata.name === name);
    expect(headless?.spec.clusterIP, `${name} is headless`).toBe("None");
    expect(headless?.metadata.namespace).toBe(ns);
    expect(headless?.spec.ports).toEqual([{ name: "http", port: 8000, targetPort: 8000 }]);
    // The ClusterIP Service stays beside it for in-cluster callers.
    expect(
      services.find((s) => s.metadata.name === `${k8sName(m.preset.id)}-api`)?.spec.clusterIP,
    ).toBeUndefined();
    // The selector picks exactly the pods that serve HTTP: every single-node pod, LWS leaders only.
    const w = workloads.find((x) => x.metadata.name === k8sName(m.preset.id))!;
    const selector = headless!.spec.selector as Record<string, string>;
    const matches = (labels: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => labels[k] === v);
    if (m.layout.nodes > 1) {
      expect(selector["leaderworkerset.sigs.k8s.io/worker-index"]).toBe("0");
      // The controller adds worker-index to every pod: leader 0, workers 1…
      const t = w.spec.leaderWorkerTemplate;
      const leader = { ...t.leaderTemplate.metadata.labels, "leaderworkerset.sigs.k8s.io/worker-index": "0" };
      const worker = { ...t.workerTemplate.metadata.labels, "leaderworkerset.sigs.k8s.io/worker-index": "1" };
      expect(matches(leader), `${name} selects the leader`).toBe(true);
      expect(matches(worker), `${name} skips workers`).toBe(false);
    } else expect(matches(w.spec.template.metadata.labels), `${name} selects the pods`).toBe(true);
  }
  // The gateway's identity: its own ServiceAccount, token mounted, allowed only to read EndpointSlices here.
  expect(gatewayPod.serviceAccountName).toBe("gonka-gateway");
  expect(gatewayPod.automountServiceAccountToken).toBe(true);
  const sa = ofType(run, "kubernetes:core/v1:ServiceAccount").map(props);
  expect(sa.map((x) => [x.metadata.name, x.metadata.namespace, x.automountServiceAccountToken])).toEqual([
    ["gonka-gateway", ns, true],
  ]);
  const roles = ofType(run, "kubernetes:rbac.authorization.k8s.io/v1:Role").map(props);
  expect(roles).toHaveLength(1);
  expect(roles[0]!.metadata.namespace).toBe(ns);
  expect(roles[0]!.rules).toEqual([
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "list", "watch"] },
  ]);
  expect(ofType(run, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")).toEqual([]);
  const bindings = ofType(run, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").map(props);
  expect(bindings.map((b) => [b.metadata.namespace, b.roleRef, b.subjects])).toEqual([
    [
      ns,
      { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: roles[0]!.metadata.name },
      [{ kind: "ServiceAccount", name: "gonka-gateway", namespace: ns }],
    ],
  ]);
}

function assertDocker(run: StackRun, cfg: StackConfig): void {
  const kind = databaseKind(cfg.database, "docker");
  const containers = ofType(run, "docker:index/container:Container");
  const gateways = containers.filter((r) => props(r).name === "gonka-gateway");
  expect(gateways).toHaveLength(1);
  const gwEnvs = props(gateways[0]!).envs as string[];
  expect(isSecret(gateways[0]!.inputs["envs"]), "gateway envs are a secret input").toBe(true);
  const dbEnv = gwEnvs.find((e) => e.startsWith("GONKA_DATABASE_URL="));
  const postgres = containers.filter((r) => props(r).name === "gonka-postgres");
  if (kind === "container") {
    expect(postgres).toHaveLength(1);
    const pg = props(postgres[0]!);
    expect(isSecret(postgres[0]!.inputs["envs"]), "postgres envs are a secret input").toBe(true);
    expect(pg.envs).toContain(`POSTGRES_PASSWORD=${DUMMY_SECRETS["gonka:databasePassword"]}`);
    expect(pg.ports).toEqual([{ internal: 5432, external: 5432, ip: "127.0.0.1" }]);
    expect(pg.volumes[0].containerPath).toBe("/var/lib/postgresql/data");
    const pulled = ofType(run, "docker:index/remoteImage:RemoteImage").map(props);
    expect(pulled.map((p) => p.name)).toContain(POSTGRES_IMAGE);
    expect(dbEnv).toBe(
      `GONKA_DATABASE_URL=postgres://gonka:${DUMMY_SECRETS["gonka:databasePassword"]}@127.0.0.1:5432/gonka`,
    );
  } else expect(postgres).toEqual([]);
  if (kind === "external") expect(dbEnv).toBe(`GONKA_DATABASE_URL=${DUMMY_SECRETS["gonka:database.url"]}`);
  if (kind === "sqlite") expect(dbEnv).toBeUndefined();
  // No Kubernetes-only resources on Docker; the gateway gets one URL per engine replica.
  expect(ofType(run, CNPG_CLUSTER)).toEqual([]);
  const gwConfig = JSON.parse(run.outputs["gatewayConfig"] as string);
  for (const m of cfg.models) {
    const entry = gwConfig.models.find((x: Any) => x.id === m.preset.id);
    expect(entry.discovery).toBeUndefined();
    expect(entry.replicas.map((r: Any) => new URL(r.url).protocol)).toEqual(Array(m.replicas).fill("http:"));
  }
}
