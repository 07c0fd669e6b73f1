import { createSimulator, type Simulator, type SimulatorOptions } from "./server.ts";

/** Test helper: an in-process simulator on a free loopback port. */
export async function startSimulator(options: SimulatorOptions): Promise<{ sim: Simulator; url: string }> {
  const sim = createSimulator(options);
  const url = await sim.listen();
  return { sim, url };
}

export interface SseResult {
  status: number;
  frames: string[];
  /** Parsed JSON of every frame except `[DONE]`. */
  events: Record<string, unknown>[];
  raw: string;
}

/** Posts and splits the SSE body on the blank-line frame boundary, keeping raw frames for framing checks. */
export async function postSse(url: string, body: unknown): Promise<SseResult> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const raw = await res.text();
  const frames = raw.split("\n\n").filter((f) => f !== "");
  const events = frames
    .filter((f) => f !== "data: [DONE]")
    .map((f) => JSON.parse(f.replace(/^data: /, "")) as Record<string, unknown>);
  return { status: res.status, frames, events, raw };
}

// biome-ignore lint/suspicious/noExplicitAny: tests assert on arbitrary response JSON.
export async function postJson(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}
