/**
 * TEST-04: OpenAI API compatibility of a Gonka target, case by case. The target
 * comes from the environment (see target.ts); with nothing set it is a private
 * local stack. Cases are defined in cases/ as plain functions so the meta-test
 * can run the same ones against faulty backends.
 */
import { afterAll, describe, it } from "vitest";
import { chatCases, chatCasesFor } from "./cases/chat.ts";
import { completionCases, embeddingCases, modelCases } from "./cases/endpoints.ts";
import { errorCases } from "./cases/errors.ts";
import { extensionCases } from "./cases/extensions.ts";
import { pythonCases } from "./cases/python.ts";
import { reasoningCasesFor } from "./cases/reasoning.ts";
import {
  concurrentStreamingToolCallsCase,
  kimiToolIdCase,
  longArgumentCases,
  toolCasesFor,
  toolChoiceCases,
} from "./cases/tools.ts";
import type { Case } from "./cases/types.ts";
import { recordSkip } from "./lib/skips.ts";
import { conformanceTarget } from "./target.ts";

const { suite, close } = await conformanceTarget();
afterAll(close, 60_000);

function register(cases: readonly Case[]): void {
  for (const c of cases) {
    it(c.name, { timeout: c.timeoutMs ?? 30_000 }, async (ctx) => {
      await c.run(suite, (reason) => {
        console.log(`conformance: skipped "${c.name}": ${reason}`);
        recordSkip(c.name, reason);
        return ctx.skip(reason);
      });
    });
  }
}

describe("models", () => register(modelCases));
describe("chat completions", () => {
  register(suite.modelsWith("chat").flatMap(chatCasesFor));
  register(chatCases);
});
describe("completions", () => register(completionCases));
describe("embeddings", () => register(embeddingCases));
describe("tools", () => {
  register(suite.modelsWith("tools").flatMap(toolCasesFor));
  register(toolChoiceCases);
  register(longArgumentCases);
  register([kimiToolIdCase]);
});
describe("reasoning", () => register(suite.modelsWith("reasoning").flatMap(reasoningCasesFor)));
describe("known vLLM K2.5 bugs", () => register([concurrentStreamingToolCallsCase]));
describe("errors", () => register(errorCases));
describe("gateway extensions", () => register(extensionCases));
describe("second client (Python openai)", () => register(pythonCases));
