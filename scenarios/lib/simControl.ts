import { readFileSync } from "node:fs";
import { getPreset } from "../../catalog/index.ts";
import type { Fault } from "../../sim/faults.ts";

/**
 * Switches the local stack's simulators for a scenario, without a restart: its script (and, for a
 * fault run, its fault) on every replica of the model it targets, and nothing on other models.
 */
export interface SimBackend {
  model: string;
  url: string;
}

async function call(url: string, method: string, body?: string): Promise<unknown> {
  const res = await fetch(url, { method, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export class SimControl {
  readonly replicas: SimBackend[];

  constructor(backends: readonly SimBackend[], model: string) {
    const id = getPreset(model).id;
    this.replicas = backends.filter((b) => b.model === id);
    if (this.replicas.length === 0) throw new Error(`the local stack runs no simulator for ${model}`);
  }

  async setScript(file: string): Promise<void> {
    const text = readFileSync(file, "utf8");
    await Promise.all(this.replicas.map((r) => call(`${r.url}/sim/script`, "POST", text)));
  }

  async setFaults(faults: readonly Fault[]): Promise<void> {
    await Promise.all(this.replicas.map((r) => call(`${r.url}/sim/faults`, "POST", JSON.stringify(faults))));
  }

  /** Back to the stack's own behaviour: no script, no faults. */
  async reset(): Promise<void> {
    await Promise.all(
      this.replicas.flatMap((r) => [
        call(`${r.url}/sim/script`, "DELETE"),
        call(`${r.url}/sim/faults`, "DELETE"),
      ]),
    );
  }

  async hits(): Promise<{ replica: string; rules: { name: string; hits: number }[]; unmatched: number }[]> {
    return Promise.all(
      this.replicas.map(async (r) => {
        const stats = (await call(`${r.url}/sim/stats`, "GET")) as {
          script: { rules: { name: string; hits: number }[]; unmatched: number } | null;
        };
        return { replica: r.url, rules: stats.script?.rules ?? [], unmatched: stats.script?.unmatched ?? 0 };
      }),
    );
  }
}
