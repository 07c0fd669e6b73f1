/**
 * Sends every scenario to the simulator and to real vLLM and lists where their framing differs.
 * Pure plumbing; the test decides which differences are explained.
 */
import { connect } from "node:net";
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
    init.headers = { "content-type": "application/json", ...s.headers };
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

/** Non-chat endpoints the gateway and the stacks rely on: health probes, model list, unknown routes. */
const PROBES: readonly { method: string; path: string }[] = [
  { method: "GET", path: "/health" },
  { method: "HEAD", path: "/health" },
  { method: "GET", path: "/v1/models" },
  { method: "GET", path: "/v1/nope" },
  { method: "GET", path: "/v1/chat/completions" },
];

export async function compareProbes(simUrl: string, vllmUrl: string): Promise<Difference[]> {
  return Promise.all(
    PROBES.map(async ({ method, path }) => {
      const get = async (base: string) =>
        observe(await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(30_000) }), false);
      const [sim, vllm] = await Promise.all([get(simUrl), get(vllmUrl)]);
      const lines = [
        ...(sim.status !== vllm.status ? [`status: sim ${sim.status} vs vllm ${vllm.status}`] : []),
        ...diffShapes(sim.body, vllm.body, "body"),
      ];
      return { run: `${method} ${path}`, lines, sim, vllm };
    }),
  );
}

/** Per metric family: its label keys, and the values of `finished_reason` and `le`. */
export function metricFamilies(text: string): Map<string, { labels: string; reasons: string; le: string }> {
  const seen = new Map<string, { labels: Set<string>; reasons: Set<string>; le: Set<string> }>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? /.exec(line);
    if (!m) continue;
    const name = m[1]!.replace(/_(bucket|count|sum|created)$/, "");
    const entry = seen.get(name) ?? { labels: new Set(), reasons: new Set(), le: new Set() };
    seen.set(name, entry);
    for (const pair of (m[2] ?? "").split(",").filter(Boolean)) {
      const [key, raw] = pair.split("=") as [string, string];
      const value = raw.replace(/^"|"$/g, "");
      if (key === "le") entry.le.add(String(Number(value) || value));
      else entry.labels.add(key);
      if (key === "finished_reason") entry.reasons.add(value);
    }
  }
  const out = new Map<string, { labels: string; reasons: string; le: string }>();
  for (const [name, e] of seen) {
    out.set(name, {
      labels: [...e.labels].sort().join(","),
      reasons: [...e.reasons].sort().join(","),
      le: [...e.le].sort((a, b) => Number(a) - Number(b)).join(","),
    });
  }
  return out;
}

/** Every `vllm:` family the simulator exports exists in vLLM with the same labels, reasons and buckets. */
export async function compareMetrics(simUrl: string, vllmUrl: string): Promise<Difference> {
  const text = async (base: string) => (await fetch(`${base}/metrics`)).text();
  const [simText, vllmText] = await Promise.all([text(simUrl), text(vllmUrl)]);
  const sim = metricFamilies(simText);
  const vllm = metricFamilies(vllmText);
  const lines: string[] = [];
  for (const [name, s] of sim) {
    const v = vllm.get(name);
    if (!v) lines.push(`${name}: exported by the simulator, not by vLLM`);
    else if (JSON.stringify(s) !== JSON.stringify(v)) {
      lines.push(`${name}: sim ${JSON.stringify(s)} vs vllm ${JSON.stringify(v)}`);
    }
  }
  const observed = { status: 200, contentType: "text/plain", body: null };
  return { run: "GET /metrics", lines, sim: observed, vllm: observed };
}

export interface IdleClose {
  /** The response's `Keep-Alive` header, if the server announced its idle timeout. */
  keepAliveHeader: string | null;
  /** How long the server kept the idle connection open after the response, ms (null: not closed). */
  closedAfterMs: number | null;
}

/**
 * One keep-alive request on a raw socket, then idle: does the server announce its idle timeout,
 * and when does it close? (uvicorn closes after 5 s without saying so.)
 */
export function idleClose(base: string, waitMs = 9_000): Promise<IdleClose> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let head = "";
    let answeredAt = 0;
    let keepAliveHeader: string | null = null;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ keepAliveHeader, closedAfterMs: null });
    }, waitMs);
    socket.on("error", reject);
    socket.on("data", (d: Buffer) => {
      if (answeredAt) return;
      head += d.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      answeredAt = performance.now();
      keepAliveHeader = /^keep-alive:\s*(.*)$/im.exec(head.slice(0, end))?.[1]?.trim() ?? null;
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({
        keepAliveHeader,
        closedAfterMs: answeredAt ? Math.round(performance.now() - answeredAt) : null,
      });
    });
    socket.write(`GET /health HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: keep-alive\r\n\r\n`);
  });
}
