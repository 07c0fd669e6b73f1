/**
 * The streaming wire format read by hand (not through a client library), so the
 * suite sees exactly what a client would: every `data:` frame in order, whether
 * `[DONE]` came last, and each chunk folded into the message it builds.
 */

export interface ChatChunk {
  id: string;
  object: string;
  choices: ChunkChoice[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
  [k: string]: unknown;
}

export interface ChunkChoice {
  index: number;
  delta: {
    role?: string;
    content?: string | null;
    reasoning?: string | null;
    reasoning_content?: string | null;
    tool_calls?: ToolCallDelta[];
  };
  finish_reason: string | null;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

export interface SseRead {
  /** The parsed JSON chunks in order (excluding `[DONE]`). */
  chunks: ChatChunk[];
  /** Raw `data:` payloads, `[DONE]` included. */
  frames: string[];
  /** `[DONE]` was the last frame. */
  doneLast: boolean;
}

/** Reads an SSE body to the end. Comments and `event:` lines are ignored; bad JSON throws. */
export async function readSse(res: Response): Promise<SseRead> {
  const text = await res.text();
  const frames: string[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).replace(/^ /, ""))
      .join("\n");
    if (data) frames.push(data);
  }
  const chunks = frames.filter((f) => f !== "[DONE]").map((f) => JSON.parse(f) as ChatChunk);
  return { chunks, frames, doneLast: frames.at(-1) === "[DONE]" };
}

export interface AssembledToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

export interface AssembledChoice {
  index: number;
  role: string | undefined;
  content: string;
  reasoning: string;
  reasoningContent: string;
  toolCalls: AssembledToolCall[];
  finishReason: string | null;
}

/** Folds deltas into one message per choice, tool-call argument pieces concatenated by index. */
export function assembleStream(chunks: readonly ChatChunk[]): AssembledChoice[] {
  const byIndex = new Map<number, AssembledChoice>();
  for (const chunk of chunks) {
    for (const c of chunk.choices ?? []) {
      let a = byIndex.get(c.index);
      if (!a) {
        a = {
          index: c.index,
          role: undefined,
          content: "",
          reasoning: "",
          reasoningContent: "",
          toolCalls: [],
          finishReason: null,
        };
        byIndex.set(c.index, a);
      }
      const d = c.delta ?? {};
      if (d.role) a.role = d.role;
      a.content += d.content ?? "";
      a.reasoning += d.reasoning ?? "";
      a.reasoningContent += d.reasoning_content ?? "";
      for (const t of d.tool_calls ?? []) {
        let call = a.toolCalls[t.index];
        if (!call) {
          call = { id: "", type: "", function: { name: "", arguments: "" } };
          a.toolCalls[t.index] = call;
        }
        if (t.id) call.id = t.id;
        if (t.type) call.type = t.type;
        if (t.function?.name) call.function.name += t.function.name;
        call.function.arguments += t.function?.arguments ?? "";
      }
      if (c.finish_reason) a.finishReason = c.finish_reason;
    }
  }
  return [...byIndex.values()].sort((x, y) => x.index - y.index);
}
