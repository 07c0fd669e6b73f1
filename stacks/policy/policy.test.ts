import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "./policies.ts";

const digest = `sha256:${"c".repeat(64)}`;

/** A model server that breaks every rule once. */
const badModelServer = {
  type: "kubernetes:apps/v1:Deployment",
  name: "bad-model",
  props: {
    spec: {
      template: {
        metadata: { labels: { "gonka.ai/model": "kimi-k2.5" } },
        spec: {
          containers: [
            {
              name: "engine",
              image: "vllm/vllm-openai:latest",
              // The executable twice, as the old Docker specs ran it: `vllm serve vllm serve …`.
              command: ["vllm", "serve", "vllm", "serve", "/models/x"],
              env: [
                { name: "HF_TOKEN", value: "hf_plaintext" },
                { name: "HF_HOME", value: "/models/.hf-home" },
                { name: "GONKA_DATABASE_URL", value: "postgres://gonka:pw@gonka-db-rw:5432/gonka" },
              ],
              volumeMounts: [{ name: "weights", mountPath: "/models", readOnly: true }],
              resources: { limits: { memory: "64Gi" } },
              securityContext: { privileged: true },
            },
          ],
        },
      },
    },
  },
};

const goodModelServer = {
  type: "kubernetes:apps/v1:Deployment",
  name: "good-model",
  props: {
    spec: {
      template: {
        metadata: { labels: { "gonka.ai/model": "kimi-k2.5" } },
        spec: {
          containers: [
            {
              name: "engine",
              image: `registry/gonka-vllm@${digest}`,
              env: [{ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "hf", key: "token" } } }],
              resources: { requests: { cpu: "32", memory: "256Gi" }, limits: { "nvidia.com/gpu": "8" } },
              securityContext: { privileged: false, allowPrivilegeEscalation: false },
            },
          ],
        },
      },
    },
  },
};

describe("policy pack", () => {
  it("passes a well-formed model server", () => {
    expect(evaluatePolicies([goodModelServer])).toEqual([]);
  });

  it("fails the bad fixture on every rule", () => {
    const violated = new Set(evaluatePolicies([badModelServer]).map((v) => v.policy));
    expect([...violated].sort()).toEqual([
      "database-url-from-secret",
      "engine-argv-matches-entrypoint",
      "env-paths-writable",
      "gpu-limits-on-model-servers",
      "images-pinned",
      "no-privileged-containers",
      "resource-requests-everywhere",
      "secrets-only-via-secrets",
    ]);
  });

  it("checks Docker containers, pulled images, build bases and ConfigMaps too", () => {
    const violations = evaluatePolicies([
      {
        type: "docker:index/container:Container",
        name: "gpu-box",
        props: {
          image: "vllm/vllm-openai:v0.20.2",
          privileged: true,
          labels: [{ label: "gonka.ai/model", value: "qwen3-32b" }],
        },
      },
      { type: "docker:index/remoteImage:RemoteImage", name: "pull", props: { name: "redis:7" } },
      {
        type: "docker-build:index:Image",
        name: "vllm",
        props: {
          labels: { "ai.gonka.require-pinned-bases": "true" },
          buildArgs: { VLLM_BASE: "vllm/vllm-openai:v0.20.2" },
        },
      },
      { type: "kubernetes:core/v1:ConfigMap", name: "cm", props: { data: { GONKA_ADMIN_KEY: "x" } } },
    ]).map((v) => v.message);
    expect(violations).toEqual(
      expect.arrayContaining([
        "gpu-box: docker container is privileged",
        "gpu-box: model server container has no GPU device request",
        "gpu-box: docker container image vllm/vllm-openai:v0.20.2 is not digest-pinned",
        "pull: pulled image redis:7 is not digest-pinned",
        "vllm: build arg VLLM_BASE=vllm/vllm-openai:v0.20.2 is not digest-pinned",
        "cm: ConfigMap key GONKA_ADMIN_KEY looks like a secret",
      ]),
    );
  });
});

describe("serving policies (issue 19: specs that deploy and never serve)", () => {
  const engineTemplate = (container: Record<string, unknown>, model = "kimi-k2.5") => ({
    metadata: { labels: { "gonka.ai/model": model } },
    spec: { containers: [{ name: "engine", ...container }] },
  });
  const messages = (resources: Parameters<typeof evaluatePolicies>[0]) =>
    evaluatePolicies(resources).map((v) => `${v.policy}: ${v.message}`);

  it("refuses a Service named like a LeaderWorkerSet (the LWS controller's headless Service)", () => {
    const lws = {
      type: "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet",
      name: "kimi-lws",
      props: { metadata: { name: "kimi-k2-5", namespace: "gonka" }, spec: {} },
    };
    const svc = (name: string) => ({
      type: "kubernetes:core/v1:Service",
      name: "kimi-svc",
      props: { metadata: { name, namespace: "gonka" }, spec: {} },
    });
    expect(messages([lws, svc("kimi-k2-5")])).toContain(
      "service-name-not-lws: kimi-svc: Service gonka/kimi-k2-5 has the name of a LeaderWorkerSet (its headless Service)",
    );
    expect(messages([lws, svc("kimi-k2-5-api")]).filter((m) => m.startsWith("service-name"))).toEqual([]);
  });

  it("refuses environment paths into a read-only mount, on both targets", () => {
    const k8s = {
      type: "kubernetes:apps/v1:Deployment",
      name: "kimi",
      props: {
        spec: {
          template: engineTemplate({
            args: ["/models/x"],
            env: [{ name: "HF_HOME", value: "/models/.hf-home" }],
            volumeMounts: [{ name: "weights", mountPath: "/models", readOnly: true }],
          }),
        },
      },
    };
    const docker = {
      type: "docker:index/container:Container",
      name: "qwen",
      props: {
        labels: [{ label: "gonka.ai/model", value: "qwen3-32b" }],
        command: ["/models/Qwen/Qwen3-32B"],
        envs: ["HF_HOME=/models/Qwen/Qwen3-32B/.cache"],
        volumes: [{ hostPath: "/srv/q", containerPath: "/models/Qwen/Qwen3-32B", readOnly: true }],
      },
    };
    const found = messages([k8s, docker]).filter((m) => m.startsWith("env-paths-writable"));
    expect(found).toEqual([
      "env-paths-writable: kimi: container engine env HF_HOME=/models/.hf-home points into a read-only mount",
      "env-paths-writable: qwen: docker container env HF_HOME=/models/Qwen/Qwen3-32B/.cache points into a read-only mount",
    ]);
  });

  it("refuses engine argv that repeats or replaces the image ENTRYPOINT (the old Docker and llama.cpp specs)", () => {
    // Docker appends `command` to ENTRYPOINT ["vllm","serve"]: this ran `vllm serve vllm serve …`.
    const dockerVllm = {
      type: "docker:index/container:Container",
      name: "qwen",
      props: {
        labels: [{ label: "gonka.ai/model", value: "qwen3-32b" }],
        command: ["vllm", "serve", "/models/Qwen/Qwen3-32B"],
      },
    };
    // Kubernetes `command` replaces ENTRYPOINT ["/app/llama-server"]; `llama-server` is not on PATH.
    const k8sLlama = {
      type: "kubernetes:apps/v1:Deployment",
      name: "q2",
      props: { spec: { template: engineTemplate({ command: ["llama-server", "--jinja"] }, "kimi-k2.5-q2") } },
    };
    const good = {
      type: "kubernetes:apps/v1:Deployment",
      name: "ok",
      props: { spec: { template: engineTemplate({ args: ["--model", "/models/x.gguf"] }, "kimi-k2.5-q2") } },
    };
    const found = messages([dockerVllm, k8sLlama, good]).filter((m) => m.startsWith("engine-argv"));
    expect(found).toEqual([
      'engine-argv-matches-entrypoint: qwen: model server container repeats the executable after the ENTRYPOINT: "vllm serve vllm serve"',
      'engine-argv-matches-entrypoint: q2: container engine runs "llama-server" instead of the image\'s "/app/llama-server"',
    ]);
  });
});

describe("scale policies (issue 11)", () => {
  const messages = (resources: Parameters<typeof evaluatePolicies>[0]) =>
    evaluatePolicies(resources).map((v) => `${v.policy}: ${v.message}`);
  const gateway = (environment: string, replicas?: number) => ({
    type: "kubernetes:apps/v1:Deployment",
    name: "gw",
    props: {
      metadata: { name: "gonka-gateway", labels: { "gonka.ai/environment": environment } },
      spec: { ...(replicas === undefined ? {} : { replicas }), template: { spec: { containers: [] } } },
    },
  });
  const hpa = (minReplicas: number) => ({
    type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    name: "gw-hpa",
    props: {
      spec: { scaleTargetRef: { kind: "Deployment", name: "gonka-gateway" }, minReplicas, maxReplicas: 6 },
    },
  });
  const replicaRule = (resources: Parameters<typeof evaluatePolicies>[0]) =>
    messages(resources).filter((m) => m.startsWith("prod-gateway-replicas"));

  it("refuses prod with fewer than 2 gateway replicas, on either target", () => {
    const refusal =
      "prod-gateway-replicas: gw: prod runs 1 gateway replica(s); it needs at least 2 (gonka:gateway.replicas on the kubernetes target, with a Postgres database)";
    expect(replicaRule([gateway("prod", 1)])).toEqual([refusal]);
    // No replicas and no HPA: Kubernetes runs one.
    expect(replicaRule([gateway("prod")])).toEqual([refusal]);
    expect(replicaRule([gateway("prod"), hpa(1)])).toEqual([refusal]);
    const docker = {
      type: "docker:index/container:Container",
      name: "gonka-gateway-c",
      props: { name: "gonka-gateway", labels: [{ label: "gonka.ai/environment", value: "prod" }] },
    };
    expect(replicaRule([docker])).toEqual([
      "prod-gateway-replicas: gonka-gateway-c: prod runs 1 gateway replica(s); it needs at least 2 (gonka:gateway.replicas on the kubernetes target, with a Postgres database)",
    ]);
    // Two or more (the HPA's floor when it owns the count), or another environment: accepted.
    expect(replicaRule([gateway("prod", 3)])).toEqual([]);
    expect(replicaRule([gateway("prod"), hpa(2)])).toEqual([]);
    expect(replicaRule([gateway("staging", 1)])).toEqual([]);
  });

  it("refuses a database URL as an env literal or in a ConfigMap, accepts it from a Secret", () => {
    const deployment = (env: Record<string, unknown>[]) => ({
      type: "kubernetes:apps/v1:Deployment",
      name: "gw",
      props: { spec: { template: { spec: { containers: [{ name: "gateway", env }] } } } },
    });
    const url = "postgres://gonka:s3cret@gonka-db-rw.gonka:5432/gonka";
    const found = messages([
      deployment([{ name: "GONKA_DATABASE_URL", value: url }]),
      deployment([{ name: "PGCONN", value: url }]),
      {
        type: "kubernetes:core/v1:ConfigMap",
        name: "cm",
        props: { data: { "gateway.json": `{"db":"${url}"}` } },
      },
      deployment([
        { name: "GONKA_DATABASE_URL", valueFrom: { secretKeyRef: { name: "gonka-db-app", key: "uri" } } },
      ]),
      {
        type: "kubernetes:core/v1:ConfigMap",
        name: "ok",
        props: { data: { host: "postgres://gonka-db-rw:5432" } },
      },
    ]).filter((m) => m.startsWith("database-url"));
    expect(found).toEqual([
      "database-url-from-secret: gw: container gateway sets GONKA_DATABASE_URL as a literal; use valueFrom.secretKeyRef",
      "database-url-from-secret: gw: container gateway sets PGCONN as a literal; use valueFrom.secretKeyRef",
      "database-url-from-secret: cm: ConfigMap key gateway.json holds a database URL with its password",
    ]);
  });
});
