/**
 * Sends every scenario to the simulator and to real vLLM and lists where their framing differs.
 * Pure plumbing; the test decides which differences are explained.
 */
import { diffShapes, type Observed, observe } from "./framing.ts";
import { kimiText, SCENARIOS, type Scenario } from "./scenarios.ts";

export interface Difference {
  /** `scenario (stream|json)`. */
  run: string;
  /** One line per differing path; empty when the framing matches. */
  lines: string[];
  sim: Observed;
  vllm: Observed;
}

const SERVED = "kimi-k2.5";

async function send(base: string, s: Scenario, stream: boolean): Promise<Observed> {
  const init: RequestInit = { method: "POST", signal: AbortSignal.timeout(60_000) };
  if (s.raw) {
    init.headers = { "content-type": s.raw.contentType };
    init.body = s.raw.text;
  } else {
    const body: Record<string, unknown> = { model: s.model ?? SERVED, ...s.body, stream };
    // The simulator ignores vllm_xargs; sending it to both keeps the requests identical.
    if (s.reply) body["vllm_xargs"] = { gonka_script: kimiText(s) };
    init.headers = { "content-type": "application/json" };
    init.body = JSON.stringify(body);
  }
  return observe(await fetch(`${base}/v1/chat/completions`, init), stream);
}

export async function compareAll(simUrl: string, vllmUrl: string): Promise<Difference[]> {
  const runs = SCENARIOS.flatMap((s) => s.streams.map((stream) => ({ s, stream })));
  // vLLM batches concurrent requests, which keeps the whole comparison to a few seconds on CPU.
  return Promise.all(
    runs.map(async ({ s, stream }) => {
      const [sim, vllm] = await Promise.all([send(simUrl, s, stream), send(vllmUrl, s, stream)]);
      const lines = [
        ...(sim.status !== vllm.status ? [`status: sim ${sim.status} vs vllm ${vllm.status}`] : []),
        ...(sim.contentType !== vllm.contentType
          ? [`content-type: sim ${sim.contentType} vs vllm ${vllm.contentType}`]
          : []),
        ...diffShapes(sim.body, vllm.body, "body"),
      ];
      return { run: `${s.name} (${stream ? "stream" : "json"})`, lines, sim, vllm };
    }),
  );
}
