import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { type GatewayConfig, gatewayConfigSchema } from "./schema.ts";

/** Environment variables that override the file, for containers and the local stack. */
const ENV_OVERRIDES = {
  GONKA_PORT: "listen.port",
  GONKA_HOST: "listen.host",
  GONKA_OPS_PORT: "opsListen.port",
  GONKA_OPS_HOST: "opsListen.host",
  GONKA_LOG_LEVEL: "logLevel",
} as const;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Validates a config object; the error lists every bad field by path. */
export function parseConfig(raw: unknown, source = "config"): GatewayConfig {
  const result = gatewayConfigSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  - ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError(`${source} is invalid:\n${lines.join("\n")}`);
  }
  return result.data;
}

/** Reads a YAML or JSON file, applies environment overrides, validates. */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read gateway config ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`gateway config ${path} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  return parseConfig(applyEnv(raw, env), path);
}

function applyEnv(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  if (!raw || typeof raw !== "object") return raw;
  const out = structuredClone(raw) as Record<string, unknown>;
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    const [head, tail] = path.split(".") as [string, string | undefined];
    const parsed = name.endsWith("_PORT") ? z.coerce.number().int().parse(value) : value;
    if (tail) out[head] = { ...((out[head] as object) ?? {}), [tail]: parsed };
    else out[head] = parsed;
  }
  return out;
}
