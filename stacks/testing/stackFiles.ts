/**
 * Reads `Pulumi.<env>.yaml` the way the Pulumi CLI hands it to the program:
 * `gonka:` keys, structured values as JSON strings, `secure:` entries replaced
 * by dummy values the tests then look for in every resource input.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { LLAMACPP_IMAGE, VLLM_IMAGE } from "../../catalog/index.ts";
import { tagOf } from "../specs/images.ts";

export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Dummy secret per `secure:` key; distinctive so a leak is unmistakable. */
export const DUMMY_SECRETS: Readonly<Record<string, string>> = {
  "gonka:adminKey": "gk-admin-DUMMY-7f3a9c",
  "gonka:hfToken": "hf_DUMMY_token_4b8e21",
  "gonka:engineApiKey": "eng-DUMMY-key-93d1c7",
  "gonka:redisPassword": "redis-DUMMY-pw-5e02aa",
  "gonka:databasePassword": "pg-DUMMY-pw-1c94e0",
  "gonka:database.url": "postgres://gonka:pgurl-DUMMY-pw-77b2d1@db.example.internal:5432/gonka",
};

/**
 * Keys the CLI would hold as secrets: the file's `secure:` keys plus every key whose value
 * carries a dummy secret (a variant's `gonka:databasePassword`, a `gonka:database` with `url`),
 * as `pulumi config set --secret [--path]` would mark them; `plaintext` keys are left out.
 */
export function secretKeysOf(
  file: StackFile,
  values: Record<string, unknown>,
  plaintext: readonly string[] = [],
): string[] {
  const dummies = Object.values(DUMMY_SECRETS);
  const carriesDummy = (v: unknown) => dummies.some((d) => JSON.stringify(v ?? null).includes(d));
  const keys = new Set([...file.secretKeys, ...Object.keys(values).filter((k) => carriesDummy(values[k]))]);
  return [...keys].filter((k) => k in values && !plaintext.includes(k));
}

export interface StackFile {
  /** Values by full key, e.g. `gonka:models`, decoded from YAML. */
  readonly values: Record<string, unknown>;
  /** Keys whose values were `secure:` in the file. */
  readonly secretKeys: readonly string[];
}

export function readStackFile(env: Environment): StackFile {
  const doc = parse(readFileSync(`${REPO_ROOT}Pulumi.${env}.yaml`, "utf8")) as {
    config: Record<string, unknown>;
  };
  const values: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(doc.config)) {
    if (value && typeof value === "object" && "secure" in value) {
      const dummy = DUMMY_SECRETS[key];
      if (!dummy) throw new Error(`no dummy value for secure key ${key}; add one to DUMMY_SECRETS`);
      values[key] = dummy;
      secretKeys.push(key);
    } else values[key] = value;
  }
  return { values: withPromotedRefs(values, env), secretKeys };
}

/**
 * What CI's promotion step sets on staging and prod (`pulumi config set --path
 * gonka:images.refs.<image>`): a ref per image, digest-pinned, with fake but well-formed digests.
 * Stack files that build their images (`gonka:images.build`) or carry refs are left alone.
 */
export function withPromotedRefs(values: Record<string, unknown>, env: string): Record<string, unknown> {
  const images = values["gonka:images"] as { registry: string; build?: boolean; refs?: object };
  if (images.build || images.refs) return values;
  const digest = (seed: string) => `sha256:${createHash("sha256").update(seed).digest("hex")}`;
  const refs = {
    gateway: `${images.registry}/gonka-gateway:${env}@${digest(`gateway-${env}`)}`,
    vllm: `${images.registry}/gonka-vllm-kimi-k2.5:${tagOf(VLLM_IMAGE)}@${digest("vllm")}`,
    llamacpp: `${images.registry}/gonka-llamacpp-gguf:${tagOf(LLAMACPP_IMAGE)}@${digest("llamacpp")}`,
  };
  return { ...values, "gonka:images": { ...images, refs } };
}

/** `gonka:models` → `models`: the object `parseStackConfig` expects. */
export function projectConfig(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(values)
      .filter(([k]) => k.startsWith("gonka:"))
      .map(([k, v]) => [k.slice("gonka:".length), v]),
  );
}

/** `setAllConfig` wants strings; structured values travel as JSON like the CLI sends them. */
export function toPulumiConfig(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}
