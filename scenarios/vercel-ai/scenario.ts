import { fileURLToPath } from "node:url";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, type ModelMessage, Output, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";
import { check, near, type Scenario, type ScenarioContext } from "../lib/types.ts";

/**
 * Vercel AI SDK: a multi-step tool loop (`stopWhen: stepCountIs(6)`) that reads a sensor's
 * readings and saves a report with the computed mean and maximum, then a structured-output call
 * (`Output.object`) that returns the same figures as typed JSON. Checked on what save_report
 * received and on the parsed object, never on wording.
 */

const READINGS: Record<string, number[]> = { "north-3": [12.5, 14, 17.5, 16], "south-1": [20, 21] };
const TASK =
  "Read the temperature readings of sensor north-3 with get_readings, compute their mean and maximum in Celsius, and save them with save_report.";
const SUMMARY = "Now give the saved figures as JSON: sensor, mean_c, max_c.";

const Summary = z.object({ sensor: z.string(), mean_c: z.number(), max_c: z.number() });

async function runAgent(ctx: ScenarioContext, streamed: boolean) {
  const saved: { sensor: string; mean_c: number; max_c: number }[] = [];
  const read: string[] = [];
  const provider = createOpenAICompatible({
    name: "gonka",
    baseURL: ctx.baseUrl,
    apiKey: ctx.apiKey,
    headers: { "X-Session-Id": ctx.sessionId },
    includeUsage: true,
  });
  const model = provider.chatModel(ctx.model);
  const tools = {
    get_readings: tool({
      description: "Returns a sensor's temperature readings in Celsius.",
      inputSchema: z.object({ sensor: z.string() }),
      execute: async ({ sensor }) => {
        read.push(sensor);
        return { sensor, celsius: READINGS[sensor] ?? [] };
      },
    }),
    save_report: tool({
      description: "Saves a sensor's report.",
      inputSchema: z.object({ sensor: z.string(), mean_c: z.number(), max_c: z.number() }),
      execute: async (report) => {
        saved.push(report);
        return `saved report for ${report.sensor}`;
      },
    }),
  };
  const common = { model, tools, stopWhen: stepCountIs(6), maxRetries: 1, abortSignal: ctx.signal };
  // streamText prints a failed step's whole error object to stderr by default; one line will do.
  const onError = ({ error }: { error: unknown }) =>
    ctx.log(`stream error: ${String((error as Error).message ?? error).split("\n")[0]}`);
  const prompt: ModelMessage[] = [{ role: "user", content: TASK }];
  let messages: ModelMessage[];
  let steps: number;
  if (streamed) {
    const result = streamText({ ...common, messages: prompt, onError });
    for await (const _ of result.textStream) {
      // Drain the stream; the SDK runs tools between steps.
    }
    messages = await result.responseMessages;
    steps = (await result.steps).length;
  } else {
    const result = await generateText({ ...common, messages: prompt });
    messages = result.responseMessages;
    steps = result.steps.length;
  }
  ctx.log(`tool loop: ${steps} steps, read ${JSON.stringify(read)}, saved ${JSON.stringify(saved)}`);
  const follow: ModelMessage[] = [...prompt, ...messages, { role: "user", content: SUMMARY }];
  const output = Output.object({ schema: Summary });
  let summary: z.infer<typeof Summary> | undefined;
  let summaryError = "";
  try {
    if (streamed) {
      const result = streamText({
        model,
        messages: follow,
        output,
        maxRetries: 1,
        abortSignal: ctx.signal,
        onError,
      });
      summary = await result.output;
    } else {
      summary = (
        await generateText({ model, messages: follow, output, maxRetries: 1, abortSignal: ctx.signal })
      ).output;
    }
  } catch (err) {
    summaryError = (err as Error).message;
  }
  ctx.log(`structured output: ${summary ? JSON.stringify(summary) : summaryError}`);
  return { saved, read, steps, summary, summaryError };
}

function vercelScenario(streamed: boolean): Scenario {
  return {
    name: streamed ? "vercel-ai-stream" : "vercel-ai",
    framework: "Vercel AI SDK",
    task: `${streamed ? "streamText" : "generateText"}: read sensor north-3, save its mean and max with a tool (multi-step loop), then return them as a typed object.`,
    model: "kimi-k2.5",
    script: fileURLToPath(new URL("./script.yaml", import.meta.url)),
    breakingFault: streamed ? [{ mode: "empty_stream_tool_calls" }] : [{ mode: "leak_tool_markers" }],
    timeoutMs: 60_000,
    async run(ctx) {
      const out = await runAgent(ctx, streamed);
      const values = READINGS["north-3"]!;
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const max = Math.max(...values);
      const report = out.saved[0];
      return [
        check(
          "the readings were read",
          out.read.includes("north-3"),
          `get_readings calls: ${JSON.stringify(out.read)}`,
        ),
        check(
          "save_report got the right mean and max",
          out.saved.length === 1 &&
            report?.sensor === "north-3" &&
            near(report.mean_c, mean) &&
            near(report.max_c, max),
          `expected one save_report(north-3, mean ${mean}, max ${max}); got ${JSON.stringify(out.saved)} after ${out.steps} steps`,
        ),
        check(
          "structured output parsed and agrees",
          out.summary !== undefined &&
            out.summary.sensor === "north-3" &&
            near(out.summary.mean_c, mean) &&
            near(out.summary.max_c, max),
          out.summary ? `got ${JSON.stringify(out.summary)}` : `no object: ${out.summaryError.slice(0, 300)}`,
        ),
      ];
    },
  };
}

export const vercelScenarios: Scenario[] = [vercelScenario(false), vercelScenario(true)];
