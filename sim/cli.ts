import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { presetIds } from "../catalog/index.ts";
import { parseFaults } from "./faults.ts";
import { loadScriptFile } from "./script.ts";
import type { SimulatorOptions } from "./server.ts";

export const USAGE = `Usage: node sim/main.ts --model <preset> [options]

Acts like vLLM (or llama-server for llama.cpp presets) serving one catalog model.

Options:
  --model ID                catalog id or alias (required): ${presetIds().join(", ")}
  --port N                  port to listen on (default 0: any free port)
  --host H                  address to bind (default 127.0.0.1)
  --ttft-ms N               time to first token, ms (default 0)
  --tpot-ms N               time per output token, ms (default 0)
  --max-concurrency N       requests generated at once; the rest queue FIFO (default 256)
  --reasoning-field F       reasoning | reasoning_content (default from the preset)
  --load-ms N               simulated model loading: /health is 503 for N ms after start
  --script FILE             scripted replies, .json or .yaml (see sim/README.md)
  --faults JSON|FILE        initial fault set, inline JSON or a .json/.yaml file
  --fault-seed N            seed for fault probabilities (default 1)
  --gpus N                  simulated GPUs in DCGM_FI_DEV_GPU_UTIL (default from the preset)
  --exit-with-stdin         exit when stdin closes (children of test processes)
  --help                    print this help

Prints one JSON line {"event":"listening","url":...,"model":...,"pid":...} when ready.`;

export class UsageError extends Error {}

export interface CliConfig {
  options: SimulatorOptions;
  port: number;
  host: string;
  exitWithStdin: boolean;
  help: boolean;
}

function intFlag(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

async function loadFaults(value: string): Promise<unknown> {
  const trimmed = value.trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) return JSON.parse(trimmed);
  const text = await readFile(value, "utf8");
  return /\.ya?ml$/i.test(value) ? parseYaml(text) : JSON.parse(text);
}

/** Turns argv into simulator options; throws UsageError for anything a user should fix. */
export async function parseCli(argv: string[]): Promise<CliConfig> {
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; strict: true; allowPositionals: false }>
  >;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return { options: { model: "" }, port: 0, host: "", exitWithStdin: false, help: true };
  if (!v.model) throw new UsageError("--model is required");
  if (!presetIds().includes(v.model)) {
    const { getPreset } = await import("../catalog/index.ts");
    try {
      getPreset(v.model);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const field = v["reasoning-field"];
  if (field !== undefined && field !== "reasoning" && field !== "reasoning_content") {
    throw new UsageError(`--reasoning-field must be reasoning or reasoning_content, got "${field}"`);
  }
  const options: SimulatorOptions = { model: v.model };
  const set = <K extends keyof SimulatorOptions>(key: K, value: SimulatorOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set("ttftMs", intFlag("ttft-ms", v["ttft-ms"]));
  set("tpotMs", intFlag("tpot-ms", v["tpot-ms"]));
  set("maxConcurrency", intFlag("max-concurrency", v["max-concurrency"], 1));
  set("loadMs", intFlag("load-ms", v["load-ms"]));
  set("faultSeed", intFlag("fault-seed", v["fault-seed"]));
  set("gpus", intFlag("gpus", v["gpus"], 1));
  set("reasoningField", field);
  try {
    if (v.script) options.script = await loadScriptFile(v.script);
    if (v.faults) options.faults = parseFaults(await loadFaults(v.faults));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return {
    options,
    port: intFlag("port", v.port) ?? 0,
    host: v.host ?? "127.0.0.1",
    exitWithStdin: v["exit-with-stdin"] ?? false,
    help: false,
  };
}

const OPTIONS = {
  model: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  "ttft-ms": { type: "string" },
  "tpot-ms": { type: "string" },
  "max-concurrency": { type: "string" },
  "reasoning-field": { type: "string" },
  "load-ms": { type: "string" },
  script: { type: "string" },
  faults: { type: "string" },
  "fault-seed": { type: "string" },
  gpus: { type: "string" },
  "exit-with-stdin": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;
