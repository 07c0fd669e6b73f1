/**
 * Test oracle for a Responses event stream: the order OpenAI emits (and its SDK's accumulator
 * assumes), checked event by event. Returns the problems found, empty when the stream is right.
 */

type Json = Record<string, unknown>;

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

export function eventOrderProblems(events: readonly Json[]): string[] {
  const problems: string[] = [];
  const fail = (i: number, what: string): void => {
    problems.push(`event ${i} (${String(events[i]?.["type"])}): ${what}`);
  };
  if (events[0]?.["type"] !== "response.created") fail(0, "the stream must start with response.created");
  if (events[1]?.["type"] !== "response.in_progress")
    fail(1, "response.in_progress must follow response.created");
  const last = events.length - 1;
  if (!TERMINAL.has(String(events[last]?.["type"]))) fail(last, "the stream must end with a terminal event");

  interface Item {
    id: string;
    type: string;
    open: boolean;
    partOpen: boolean;
    parts: number;
    text: string;
    args: string;
    final: Json | null;
  }
  const items: Item[] = [];
  for (const [i, e] of events.entries()) {
    if (e["sequence_number"] !== i) fail(i, `sequence_number ${String(e["sequence_number"])}, expected ${i}`);
    const type = String(e["type"]);
    if (i > 1 && (type === "response.created" || type === "response.in_progress"))
      fail(i, "lifecycle event repeated");
    if (TERMINAL.has(type)) {
      if (i !== last) fail(i, "terminal event before the end");
      const open = items.filter((it) => it.open);
      if (open.length) fail(i, `items still open: ${open.map((it) => it.id).join(", ")}`);
      const output = ((e["response"] as Json)?.["output"] ?? []) as Json[];
      if (output.length !== items.length)
        fail(i, `final output has ${output.length} items, stream had ${items.length}`);
      output.forEach((item, k) => {
        if (JSON.stringify(item) !== JSON.stringify(items[k]?.final))
          fail(i, `output[${k}] differs from its output_item.done`);
      });
      continue;
    }
    if (i < 2) continue;
    const index = e["output_index"] as number;
    if (type === "response.output_item.added") {
      if (index !== items.length) fail(i, `output_index ${index}, expected the next index ${items.length}`);
      const item = e["item"] as Json;
      items.push({
        id: String(item["id"]),
        type: String(item["type"]),
        open: true,
        partOpen: false,
        parts: 0,
        text: "",
        args: "",
        final: null,
      });
      continue;
    }
    const it = items[index];
    if (!it) {
      fail(i, `output_index ${index} was never added`);
      continue;
    }
    if (!it.open) {
      fail(i, `item ${it.id} is already done`);
      continue;
    }
    if (e["item_id"] !== undefined && e["item_id"] !== it.id)
      fail(i, `item_id ${String(e["item_id"])} ≠ ${it.id}`);
    switch (type) {
      case "response.content_part.added":
        if (it.partOpen) fail(i, "a content part is already open");
        if (e["content_index"] !== it.parts)
          fail(i, `content_index ${String(e["content_index"])} ≠ ${it.parts}`);
        it.partOpen = true;
        it.text = "";
        continue;
      case "response.output_text.delta":
      case "response.reasoning_text.delta":
        if (!it.partOpen) fail(i, "delta outside a content part");
        if (e["content_index"] !== it.parts) fail(i, "delta content_index is not the open part");
        it.text += String(e["delta"]);
        continue;
      case "response.output_text.done":
      case "response.reasoning_text.done":
        if (e["text"] !== it.text) fail(i, "done text is not the concatenated deltas");
        continue;
      case "response.content_part.done":
        if (!it.partOpen) fail(i, "no content part open");
        if ((e["part"] as Json)?.["text"] !== it.text) fail(i, "content_part.done text is not the deltas");
        it.partOpen = false;
        it.parts++;
        continue;
      case "response.function_call_arguments.delta":
        it.args += String(e["delta"]);
        continue;
      case "response.function_call_arguments.done":
        if (e["arguments"] !== it.args) fail(i, "arguments.done is not the concatenated deltas");
        continue;
      case "response.output_item.done": {
        if (it.partOpen) fail(i, "item done with a content part open");
        const item = e["item"] as Json;
        if (item["id"] !== it.id) fail(i, "output_item.done names another item");
        if (it.type === "function_call" && item["arguments"] !== it.args) fail(i, "final arguments ≠ deltas");
        if (it.type !== "function_call") {
          const content = (item["content"] ?? []) as Json[];
          if (content.length !== it.parts)
            fail(i, `item has ${content.length} parts, stream had ${it.parts}`);
        }
        it.open = false;
        it.final = item;
        continue;
      }
    }
    fail(i, "unexpected event type");
  }
  return problems;
}
