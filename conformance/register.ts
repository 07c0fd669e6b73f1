/**
 * Registers every conformance case against one SuiteContext as vitest tests, grouped as in the
 * README. Shared by suite.test.ts (any target) and reference-engine/gatewayOnVllm.test.ts (the
 * local stack with kimi-k2.5 on the real vLLM), so both run exactly the same cases.
 */
import { describe, it } from "vitest";
import { chatCases, chatCasesFor } from "./cases/chat.ts";
import { completionCases, embeddingCases, modelCases } from "./cases/endpoints.ts";
import { errorCases } from "./cases/errors.ts";
import { extensionCases } from "./cases/extensions.ts";
import { pythonCases } from "./cases/python.ts";
import { reasoningCasesFor } from "./cases/reasoning.ts";
import { responsesCases, translatedResponsesCases } from "./cases/responses.ts";
import { tieringCases } from "./cases/tiering.ts";
import {
  concurrentStreamingToolCallsCase,
  kimiToolIdCase,
  longArgumentCases,
  toolCasesFor,
  toolChoiceCases,
} from "./cases/tools.ts";
import type { Case } from "./cases/types.ts";
import { recordSkip } from "./lib/skips.ts";
import type { SuiteContext } from "./lib/suite.ts";

function register(suite: SuiteContext, cases: readonly Case[]): void {
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

export function registerConformance(suite: SuiteContext): void {
  const add = (cases: readonly Case[]) => register(suite, cases);
  describe("models", () => add(modelCases));
  describe("chat completions", () => {
    add(suite.modelsWith("chat").flatMap(chatCasesFor));
    add(chatCases);
  });
  describe("completions", () => add(completionCases));
  describe("embeddings", () => add(embeddingCases));
  describe("tools", () => {
    add(suite.modelsWith("tools").flatMap(toolCasesFor));
    add(toolChoiceCases);
    add(longArgumentCases);
    add([kimiToolIdCase]);
  });
  describe("reasoning", () => add(suite.modelsWith("reasoning").flatMap(reasoningCasesFor)));
  describe("known vLLM K2.5 bugs", () => add([concurrentStreamingToolCallsCase]));
  describe("responses", () => {
    add(responsesCases);
    add(translatedResponsesCases(suite));
  });
  describe("errors", () => add(errorCases));
  describe("gateway extensions", () => add(extensionCases));
  describe("tiering", () => add(tieringCases));
  describe("second client (Python openai)", () => add(pythonCases));
}
