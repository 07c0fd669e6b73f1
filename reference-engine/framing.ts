/**
 * The framing of a response with the content left out: what the differential test compares between
 * the simulator and real vLLM. Presence of fields, JSON types, nulls, empty strings, finish reasons,
 * roles, object kinds, tool names and ids, error types and codes are kept; text and token counts
 * become placeholders, and runs of SSE chunks with the same framing collapse into one, because the
 * two engines tokenize (and so chunk) differently.
 */

/** String fields compared by value: they are protocol, not generated text. */
const LITERAL_STRINGS = new Set(["finish_reason", "role", "object", "type", "name", "stop_reason", "model"]);
/** Number fields compared by value. */
const LITERAL_NUMBERS = new Set(["code", "index"]);

function shapeString(key: string | undefined, value: string): string {
  if (key !== undefined && LITERAL_STRINGS.has(key)) return value;
  if (key === "id") {
    // Completion ids are random after a fixed prefix; K2.5 tool-call ids are fully determined.
    if (value.startsWith("functions.")) return value;
    const prefix = value.replace(/[0-9a-f]{8,}$/, "");
    return prefix !== value ? `${prefix}*` : "<id>";
  }
  return value === "" ? "" : "<text>";
}

export function shapeOf(value: unknown, key?: string): unknown {
  if (value === null) return null;
  if (typeof value === "string") return shapeString(key, value);
  if (typeof value === "number") return key !== undefined && LITERAL_NUMBERS.has(key) ? value : "<number>";
  if (typeof value === "boolean") return "<boolean>";
  if (Array.isArray(value)) return value.map((v) => shapeOf(v));
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = shapeOf((value as Record<string, unknown>)[k], k);
    return out;
  }
  return `<${typeof value}>`;
}

/**
 * One SSE body as lists of framings: one list per choice index (how vLLM interleaves choices of
 * `n > 1` depends on timing), and one for chunks without a single choice (usage, `[DONE]`).
 * Consecutive duplicates collapse.
 */
export function streamShape(body: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const push = (key: string, line: string) => {
    const list = out[key] ?? [];
    out[key] = list;
    if (list[list.length - 1] !== line) list.push(line);
  };
  for (const frame of body.split("\n\n")) {
    if (frame.trim() === "") continue;
    const data = frame
      .split("\n")
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trimStart())
      .join("\n");
    if (data === "[DONE]") {
      push("rest", "[DONE]");
      continue;
    }
    let parsed: { choices?: { index?: number }[] };
    try {
      parsed = JSON.parse(data);
    } catch {
      push("rest", `<not JSON: ${data.slice(0, 80)}>`);
      continue;
    }
    const choices = parsed.choices ?? [];
    const key = choices.length === 1 ? `choice ${choices[0]?.index}` : "rest";
    const chunks = splitFinal(parsed).flatMap(splitMixed).flatMap(splitToolCalls).flatMap(dropEmpty);
    for (const chunk of chunks) push(key, JSON.stringify(shapeOf(chunk)));
  }
  return out;
}

type Chunk = { choices?: Record<string, unknown>[] } & Record<string, unknown>;

/**
 * Whether the last text piece rides on the finish chunk or comes one chunk before it depends on
 * timing in vLLM (async scheduling batches the end-of-sequence step with the previous one under
 * load), so a finish chunk with a non-empty delta is compared as that delta, then `delta: {}`.
 */
function splitFinal(chunk: Chunk): Chunk[] {
  const choice = chunk.choices?.length === 1 ? chunk.choices[0]! : undefined;
  const delta = choice?.["delta"];
  if (!choice || choice["finish_reason"] == null || !delta || Object.keys(delta).length === 0) return [chunk];
  const { stop_reason: _stop, ...rest } = choice;
  return [
    { ...chunk, choices: [{ ...rest, finish_reason: null }] },
    { ...chunk, choices: [{ ...choice, delta: {} }] },
  ];
}

/**
 * Under load vLLM hands the serving layer several tokens at once, so the end of the reasoning and
 * the start of the content can share one delta; compared as the reasoning delta, then the rest.
 */
function splitMixed(chunk: Chunk): Chunk[] {
  const choice = chunk.choices?.length === 1 ? chunk.choices[0]! : undefined;
  const delta = choice?.["delta"] as Record<string, unknown> | undefined;
  if (!choice || !delta || choice["finish_reason"] != null) return [chunk];
  const field =
    "reasoning" in delta ? "reasoning" : "reasoning_content" in delta ? "reasoning_content" : null;
  if (!field || Object.keys(delta).length === 1) return [chunk];
  const { [field]: thought, ...rest } = delta;
  return [
    { ...chunk, choices: [{ ...choice, delta: { [field]: thought } }] },
    { ...chunk, choices: [{ ...choice, delta: rest }] },
  ];
}

/** Several tool-call pieces in one delta (several steps delivered at once) compare one per chunk. */
function splitToolCalls(chunk: Chunk): Chunk[] {
  const choice = chunk.choices?.length === 1 ? chunk.choices[0]! : undefined;
  const delta = choice?.["delta"] as { tool_calls?: unknown[] } | undefined;
  if (!choice || !Array.isArray(delta?.tool_calls) || delta.tool_calls.length < 2) return [chunk];
  return delta.tool_calls.map((call) => ({
    ...chunk,
    choices: [{ ...choice, delta: { ...delta, tool_calls: [call] } }],
  }));
}

/**
 * A delta that carries nothing (only `""` or `null` values: no role, no text, no tool call, no
 * finish) is dropped. vLLM 0.20.2 sends `{"reasoning":""}` and `{"content":null}` around
 * `</think>` depending on how engine steps reach its serving code (seen with stop strings and with
 * structured-output tool calls when the machine is loaded); a client sees nothing from them.
 */
function dropEmpty(chunk: Chunk): Chunk[] {
  const choice = chunk.choices?.length === 1 ? chunk.choices[0]! : undefined;
  const delta = choice?.["delta"] as Record<string, unknown> | undefined;
  if (!choice || !delta || choice["finish_reason"] != null) return [chunk];
  const values = Object.values(delta);
  return values.length > 0 && values.every((v) => v === "" || v === null) ? [] : [chunk];
}

export interface Observed {
  status: number;
  contentType: string;
  /** Non-stream: the JSON framing; stream: the collapsed frame list. */
  body: unknown;
}

export async function observe(res: Response, stream: boolean): Promise<Observed> {
  const text = await res.text();
  const contentType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  if (stream && res.status === 200) return { status: res.status, contentType, body: streamShape(text) };
  let body: unknown;
  try {
    body = shapeOf(JSON.parse(text));
  } catch {
    body = `<not JSON: ${text.slice(0, 80)}>`;
  }
  return { status: res.status, contentType, body };
}

/** Paths where two framings differ, e.g. `body.choices[0].message.tool_calls: sim [] vs vllm null`. */
export function diffShapes(sim: unknown, vllm: unknown, path = ""): string[] {
  if (JSON.stringify(sim) === JSON.stringify(vllm)) return [];
  const bothObjects =
    sim &&
    vllm &&
    typeof sim === "object" &&
    typeof vllm === "object" &&
    !Array.isArray(sim) &&
    !Array.isArray(vllm);
  if (bothObjects) {
    const a = sim as Record<string, unknown>;
    const b = vllm as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => {
      if (!(k in a)) return [`${path}.${k}: absent in sim, vllm ${JSON.stringify(b[k])}`];
      if (!(k in b)) return [`${path}.${k}: sim ${JSON.stringify(a[k])}, absent in vllm`];
      return diffShapes(a[k], b[k], `${path}.${k}`);
    });
  }
  if (Array.isArray(sim) && Array.isArray(vllm) && sim.length === vllm.length) {
    return sim.flatMap((v, i) => diffShapes(v, vllm[i], `${path}[${i}]`));
  }
  return [`${path}: sim ${JSON.stringify(sim)} vs vllm ${JSON.stringify(vllm)}`];
}
