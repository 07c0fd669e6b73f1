import { fileURLToPath } from "node:url";
import { type AIMessage, HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { END, MemorySaver, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt";
import { ChatOpenAICompletions } from "@langchain/openai";
import { z } from "zod";
import { check, near, type Scenario, type ScenarioContext } from "../lib/types.ts";
import { cents, ORDERS, orderTotal } from "./data.ts";
import { storedSessionCheck } from "./session.ts";

/**
 * TEST-03: a LangGraph StateGraph (agent node + ToolNode, MemorySaver checkpointer) invoked twice
 * on one thread_id; the second task names no order and can only be done from the first turn's
 * state. Checked on the outcome: what the record_total tool stored.
 */

/**
 * ChatOpenAI (which delegates Chat Completions to ChatOpenAICompletions) estimates the tokens of
 * a streamed reply with tiktoken, whose encodings @langchain/core downloads from
 * tiktoken.pages.dev on first use. Without internet (CI) that download hangs the invocation, and
 * a scenario must not reach the internet anyway: this counts like the fallback it takes when the
 * download fails, without trying.
 */
class OfflineChatOpenAI extends ChatOpenAICompletions {
  override async getNumTokens(
    content: Parameters<ChatOpenAICompletions["getNumTokens"]>[0],
  ): Promise<number> {
    const text = typeof content === "string" ? content : JSON.stringify(content);
    return Math.ceil(text.length / 4);
  }
}

const FIRST = "What is the total of order A-17? Look it up with the tools.";
const SECOND = "Apply a 10 percent discount to that order and record the discounted total.";

async function runGraph(ctx: ScenarioContext, streamed: boolean) {
  const looked: string[] = [];
  const recorded: { order_id: string; total: number }[] = [];
  const getOrder = tool(
    async ({ order_id }) => {
      looked.push(order_id);
      const items = ORDERS[order_id];
      return items ? JSON.stringify({ order_id, items }) : `no order ${order_id}`;
    },
    {
      name: "get_order",
      description: "Returns an order's line items (sku, unit price, quantity).",
      schema: z.object({ order_id: z.string().describe("order id such as A-17") }),
    },
  );
  const recordTotal = tool(
    async (args) => {
      recorded.push(args);
      return `recorded ${args.total} for ${args.order_id}`;
    },
    {
      name: "record_total",
      description: "Records the final total of an order.",
      schema: z.object({ order_id: z.string(), total: z.number() }),
    },
  );
  const tools = [getOrder, recordTotal];
  const model = new OfflineChatOpenAI({
    model: ctx.model,
    apiKey: ctx.apiKey,
    streaming: streamed,
    maxRetries: 1,
    configuration: { baseURL: ctx.baseUrl, defaultHeaders: { "X-Session-Id": ctx.sessionId } },
  }).bindTools(tools);
  const graph = new StateGraph(MessagesAnnotation)
    .addNode("agent", async (state) => ({
      messages: [await model.invoke(state.messages, { signal: ctx.signal })],
    }))
    .addNode("tools", new ToolNode(tools))
    .addEdge(START, "agent")
    .addConditionalEdges("agent", toolsCondition, ["tools", END])
    .addEdge("tools", "agent")
    .compile({ checkpointer: new MemorySaver() });
  const config = { configurable: { thread_id: ctx.sessionId }, recursionLimit: 12, signal: ctx.signal };

  const ask = async (text: string): Promise<string> => {
    const input = { messages: [new HumanMessage(text)] };
    let last: AIMessage | undefined;
    if (streamed) {
      for await (const state of await graph.stream(input, { ...config, streamMode: "values" })) {
        last = state.messages[state.messages.length - 1] as AIMessage;
      }
    } else {
      const state = await graph.invoke(input, config);
      last = state.messages[state.messages.length - 1] as AIMessage;
    }
    return typeof last?.content === "string" ? last.content : JSON.stringify(last?.content ?? "");
  };
  // A failed invocation is an outcome too: the checks below say what it left undone.
  const errors: string[] = [];
  const turn = async (n: number, text: string) => {
    ctx.log(`invoke ${n} on thread ${ctx.sessionId}: ${text}`);
    try {
      ctx.log(`answer ${n}: ${await ask(text)}`);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      errors.push(`invocation ${n}: ${(err as Error).message.split("\n")[0]}`);
      ctx.log(errors[errors.length - 1]!);
    }
  };
  await turn(1, FIRST);
  await turn(2, SECOND);
  const history = (await graph.getState(config)).values.messages.length;
  return { looked, recorded, errors, history };
}

function langgraphScenario(streamed: boolean): Scenario {
  return {
    name: streamed ? "langgraph-stream" : "langgraph",
    framework: "LangGraph JS",
    task: `${streamed ? "Streamed" : "Non-streamed"}: look up order A-17's total (turn 1), then on the same thread apply a 10% discount and record it (turn 2).`,
    model: "kimi-k2.5",
    script: fileURLToPath(new URL("./script.yaml", import.meta.url)),
    breakingFault: streamed ? [{ mode: "empty_stream_tool_calls" }] : [{ mode: "leak_tool_markers" }],
    timeoutMs: 60_000,
    async run(ctx) {
      const out = await runGraph(ctx, streamed);
      const expected = cents(orderTotal("A-17") * 0.9);
      const checks = [
        check("both invocations completed", out.errors.length === 0, out.errors.join("; ") || "no errors"),
        check(
          "turn 1 looked the order up",
          out.looked.includes("A-17"),
          `get_order calls: ${JSON.stringify(out.looked)}`,
        ),
        check(
          "turn 2 recorded the discounted total of the order from turn 1",
          out.recorded.length === 1 &&
            out.recorded[0]!.order_id === "A-17" &&
            near(out.recorded[0]!.total, expected),
          `expected one record_total(A-17, ${expected}); got ${JSON.stringify(out.recorded)}`,
        ),
        check(
          "the checkpointer kept the thread",
          out.history >= 8,
          `${out.history} messages on the thread after two invocations (2 questions, 2 tool calls, 2 results, 2 answers)`,
        ),
      ];
      // TEST-03 "with sessions": the gateway stored both turns with their tool calls.
      checks.push(
        await storedSessionCheck(ctx.gatewayUrl, ctx.apiKey, ctx.sessionId, {
          userTexts: [FIRST, SECOND],
          toolNames: ["get_order", "record_total"],
        }),
      );
      return checks;
    },
  };
}

export const langgraphScenarios: Scenario[] = [langgraphScenario(false), langgraphScenario(true)];
