import type { ServerResponse } from "node:http";
import { sendJson, sendText } from "../http.ts";
import type { SimState } from "../state.ts";
import { responseId } from "./common.ts";

export function isLoading(state: SimState): boolean {
  return performance.now() < state.readyAt;
}

/** vLLM: 200 with an empty body; llama-server: `{"status":"ok"}`, and its own 503 while loading. */
export function handleHealth(state: SimState, res: ServerResponse): void {
  const loading = isLoading(state);
  if (state.engine === "llamacpp") {
    if (loading) {
      sendJson(res, 503, { error: { code: 503, message: "Loading model", type: "unavailable_error" } });
    } else if (!state.healthy) {
      sendJson(res, 503, { error: { code: 503, message: "Service unavailable", type: "unavailable_error" } });
    } else {
      sendJson(res, 200, { status: "ok" });
    }
    return;
  }
  res.writeHead(loading || !state.healthy ? 503 : 200, { "content-length": 0 });
  res.end();
}

export function handleModels(state: SimState, res: ServerResponse, created: number): void {
  const { preset } = state;
  if (state.engine === "llamacpp") {
    sendJson(res, 200, {
      models: [
        {
          name: preset.id,
          model: preset.id,
          modified_at: "",
          size: "",
          digest: "",
          type: "model",
          description: "",
          tags: [""],
          capabilities: ["completion"],
          parameters: "",
          details: {
            parent_model: "",
            format: "gguf",
            family: "",
            families: [""],
            parameter_size: "",
            quantization_level: "",
          },
        },
      ],
      object: "list",
      data: [
        {
          id: preset.id,
          object: "model",
          created,
          owned_by: "llamacpp",
          meta: { vocab_type: 2, n_vocab: 163840, n_ctx_train: preset.contextLength, n_embd: 7168 },
        },
      ],
    });
    return;
  }
  sendJson(res, 200, {
    object: "list",
    data: [
      {
        id: preset.id,
        object: "model",
        created,
        owned_by: "vllm",
        root: preset.weights.repo,
        parent: null,
        max_model_len: preset.contextLength,
        permission: [
          {
            id: responseId("modelperm-"),
            object: "model_permission",
            created,
            allow_create_engine: false,
            allow_sampling: true,
            allow_logprobs: true,
            allow_search_indices: false,
            allow_view: true,
            allow_fine_tuning: false,
            organization: "*",
            group: null,
            is_blocking: false,
          },
        ],
      },
    ],
  });
}

export async function handleMetrics(state: SimState, res: ServerResponse): Promise<void> {
  sendText(res, 200, await state.metrics.text(), state.metrics.contentType);
}

/**
 * vLLM's `GET /version` (`{"version": "0.20.2"}`) and llama-server's `GET /props`
 * (`build_info`), from the catalog image tag, marked as simulated.
 */
export function handleVersion(state: SimState, res: ServerResponse): void {
  const tag = state.preset.image.slice(state.preset.image.lastIndexOf(":") + 1);
  if (state.engine === "llamacpp") {
    sendJson(res, 200, {
      build_info: `${tag.replace(/^server-cuda-/, "")}-sim`,
      model_path: state.preset.id,
    });
  } else {
    sendJson(res, 200, { version: `${tag.replace(/^v/, "")}+sim` });
  }
}
