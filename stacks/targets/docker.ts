/** Wires the components for the Docker target (GPU hosts over SSH); called by the entry point. */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Database } from "../components/database.ts";
import type { EngineImages } from "../components/engineImages.ts";
import { Gateway } from "../components/gateway.ts";
import { GpuHost } from "../components/gpuHost.ts";
import { ModelServer } from "../components/modelServer.ts";
import { Observability } from "../components/observability.ts";
import { WeightStaging } from "../components/weightStaging.ts";
import type { StackConfig } from "../config.ts";
import { databaseKind } from "../databaseConfig.ts";
import { k8sName } from "../specs/k8sModelServer.ts";
import { placeOnDockerHosts } from "../specs/placement.ts";
import type { Secrets, TargetDeployment } from "./types.ts";

export function deployDocker(cfg: StackConfig, images: EngineImages, secrets: Secrets): TargetDeployment {
  const hosts = new Map(
    cfg.docker.hosts.map((h) => [
      h.name,
      {
        config: h,
        host: new GpuHost(h.name, {
          host: h,
          ...(secrets.sshPrivateKey ? { sshPrivateKey: secrets.sshPrivateKey } : {}),
        }),
      },
    ]),
  );
  const must = (name: string) => {
    const h = hosts.get(name);
    if (!h) throw new Error(`unknown docker host ${name}`);
    return h;
  };
  // One pull per (host, image): engines on the same host share it.
  const pulled = new Map<string, docker.RemoteImage>();
  const pull = (hostName: string, kind: "vllm" | "llamacpp") => {
    const key = `${hostName}/${kind}`;
    let img = pulled.get(key);
    if (!img) {
      const h = must(hostName).host;
      img = new docker.RemoteImage(
        `${hostName}-${kind}-image`,
        { name: images.ref(kind), keepLocally: true },
        { provider: h.provider, parent: h },
      );
      pulled.set(key, img);
    }
    return img;
  };
  const placement = placeOnDockerHosts(cfg.models, cfg.docker.hosts);
  const gwHost = must(cfg.docker.gatewayHost ?? cfg.docker.hosts[0]!.name);
  // Engines are reachable on loopback from the gateway's own host, on the private address otherwise
  // (config.ts refuses engine hosts without one).
  const bindAddressByHost = Object.fromEntries(
    cfg.docker.hosts.map((h) => [
      h.name,
      h.name === gwHost.config.name ? "127.0.0.1" : (h.privateAddress ?? h.address),
    ]),
  );
  const servers = cfg.models.map((m, i) => {
    const name = k8sName(m.preset.id);
    const placed = placement[i]!;
    const used = [...new Set(m.hosts)];
    const staging = used.map(
      (hostName) =>
        new WeightStaging(
          `${name}-weights-${hostName}`,
          {
            target: "docker",
            preset: m.preset,
            image: images.ref("vllm"),
            connection: must(hostName).host.connection,
            hostWeightsDir: must(hostName).config.weightsDir,
            hfToken: secrets.hfToken,
          },
          { dependsOn: [must(hostName).host.checked] },
        ),
    );
    return new ModelServer(
      name,
      {
        target: "docker",
        model: m,
        placement: placed,
        imageByHost: Object.fromEntries(used.map((h) => [h, pull(h, m.preset.engine).imageId])),
        providerByHost: Object.fromEntries(used.map((h) => [h, must(h).host.provider])),
        weightsDirByHost: Object.fromEntries(used.map((h) => [h, must(h).config.weightsDir])),
        bindAddressByHost,
        engineApiKey: secrets.engineApiKey,
        fabric: cfg.fabric,
      },
      { dependsOn: staging },
    );
  });
  const observability = new Observability("observability", {
    target: "docker",
    hosts: [...hosts.values()].map((h) => ({
      name: h.config.name,
      // dcgm-exporter is published like the engines: loopback or the private address only.
      address: bindAddressByHost[h.config.name] ?? h.config.address,
      provider: h.host.provider,
    })),
    models: cfg.models.map((m) => m.preset.id),
  });
  const models = pulumi.all(servers.map((s) => s.replicaUrls)).apply((urls) =>
    cfg.models.map((m, i) => ({
      preset: m.preset.id,
      replicaUrls: urls[i] ?? [],
      // Replica r's leader runs on hosts[r × nodes]; its exporter reports that host's GPUs.
      gpuMetricsUrls: (urls[i] ?? []).map(
        (_, r) => observability.gpuMetricsUrls[m.hosts[r * m.layout.nodes] ?? ""],
      ),
      extraAliases: [...m.extraAliases],
    })),
  );
  const dbKind = databaseKind(cfg.database, "docker");
  let databaseUrl = dbKind === "external" ? secrets.databaseUrl : undefined;
  let database: Database | undefined;
  if (dbKind === "container") {
    if (!secrets.databasePassword) throw new Error("gonka:databasePassword is not set");
    database = new Database(
      "database",
      { target: "docker", provider: gwHost.host.provider, password: secrets.databasePassword },
      { dependsOn: [gwHost.host.checked] },
    );
    databaseUrl = database.url;
  }
  const gateway = new Gateway(
    "gateway",
    {
      target: "docker",
      models,
      image: images.ref("gateway"),
      adminKey: secrets.adminKey,
      engineApiKey: secrets.engineApiKey,
      redisPassword: secrets.redisPassword,
      port: cfg.gateway.port,
      provider: gwHost.host.provider,
      hostAddress: gwHost.config.address,
      ...(gwHost.config.privateAddress ? { privateAddress: gwHost.config.privateAddress } : {}),
      ...(cfg.gateway.tiers ? { tiers: cfg.gateway.tiers } : {}),
      ...(cfg.gateway.reasoningOutput ? { reasoningOutput: cfg.gateway.reasoningOutput } : {}),
      ...(cfg.gateway.routers ? { routers: cfg.gateway.routers } : {}),
      ...(databaseUrl ? { databaseUrl } : {}),
    },
    { dependsOn: database?.ready ?? [] },
  );
  return { gateway, servers };
}
