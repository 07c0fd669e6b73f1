import {
  DONE_FRAME,
  type Frame,
  type ResponseMeta,
  renderChatJson,
  renderChatStream,
} from "../chatRender.ts";
import { validateChatRequest } from "../chatRequest.ts";
import type { ActiveFaults } from "../faults.ts";
import { runInference } from "../inference.ts";
import { planScriptedChat } from "../scriptRoute.ts";
import type { Exchange, SimState } from "../state.ts";
import { checkModel, includeUsage, nowSeconds, responseId } from "./common.ts";

/**
 * vLLM's answer to a failure during generation after the stream started (its GenerationError
 * path in vLLM 0.20.2's serving code): an error event in its error shape, then `[DONE]`.
 */
function withStreamError(frames: Frame[], after: number): Frame[] {
  const error = { message: "Internal server error", type: "InternalServerError", param: null, code: 500 };
  return [
    ...frames.slice(0, after),
    { data: `data: ${JSON.stringify({ error })}\n\n`, tokens: 0 },
    DONE_FRAME,
  ];
}

export async function handleChat(
  state: SimState,
  body: Record<string, unknown>,
  requestFaults: Readonly<ActiveFaults>,
  ex: Exchange,
): Promise<void> {
  checkModel(state, body["model"], "chat");
  const req = validateChatRequest(body, state.engine);
  const { plan, faults } = planScriptedChat(state, req, requestFaults, ex);
  // vLLM names the completion after the caller's X-Request-Id when there is one.
  const requestId = ex.req.headers["x-request-id"];
  const meta: ResponseMeta = {
    id:
      state.engine === "vllm" && typeof requestId === "string" && requestId
        ? `chatcmpl-${requestId}`
        : responseId("chatcmpl-"),
    created: nowSeconds(),
    model: state.preset.id,
    engine: state.engine,
    reasoningField: state.reasoningField,
  };
  const common = {
    promptTokens: plan.promptTokens,
    completionTokens: plan.completionTokens,
    finishReason: plan.choices[0]?.finishReason ?? "stop",
  };
  if (req.stream === true) {
    let frames = renderChatStream(plan, meta, {
      includeUsage: includeUsage(req.stream_options),
      emptyToolCalls: faults.emptyStreamToolCalls,
    });
    if (faults.errorAfterChunks !== undefined) frames = withStreamError(frames, faults.errorAfterChunks);
    await runInference(state, ex, faults, { ...common, stream: true, frames });
  } else {
    await runInference(state, ex, faults, { ...common, stream: false, json: renderChatJson(plan, meta) });
  }
}
