import { SimError } from "../errors.ts";
import type { ActiveFaults } from "../faults.ts";
import { runInference } from "../inference.ts";
import { renderResponseJson, renderResponseStream } from "../responsesRender.ts";
import { parseResponsesRequest } from "../responsesRequest.ts";
import { planScriptedChat } from "../scriptRoute.ts";
import type { Exchange, SimState } from "../state.ts";
import { checkModel, nowSeconds, responseId } from "./common.ts";

/**
 * vLLM 0.20.2 without `VLLM_ENABLE_RESPONSES_API_STORE` (the catalog never sets it) keeps no
 * response: a `previous_response_id` is always unknown, and GET/cancel of an id answer this.
 */
export function responseNotFound(id: string): SimError {
  return new SimError(404, `Response with id '${id}' not found.`, {
    param: "response_id",
    type: "invalid_request_error",
  });
}

/** `POST /v1/responses` (vLLM only; llama-server has no such route). */
export async function handleResponses(
  state: SimState,
  body: Record<string, unknown>,
  requestFaults: Readonly<ActiveFaults>,
  ex: Exchange,
): Promise<void> {
  checkModel(state, body["model"], "chat");
  const request = parseResponsesRequest(body);
  const previous = request.echo.previousResponseId;
  if (previous) throw responseNotFound(previous);
  const { plan, faults } = planScriptedChat(state, request.chat, requestFaults, ex);
  const ctx = {
    id: responseId("resp_"),
    createdAt: nowSeconds(),
    model: state.preset.id,
    request,
  };
  const common = {
    promptTokens: plan.promptTokens,
    completionTokens: plan.completionTokens,
    finishReason: plan.choices[0]?.finishReason ?? "stop",
  };
  const contextLength = state.preset.contextLength;
  if (request.chat.stream === true) {
    const frames = renderResponseStream(plan, ctx, contextLength);
    await runInference(state, ex, faults, { ...common, stream: true, frames });
  } else {
    await runInference(state, ex, faults, {
      ...common,
      stream: false,
      json: renderResponseJson(plan, ctx, contextLength),
    });
  }
}
