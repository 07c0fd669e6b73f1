/**
 * The Responses API on an engine that only speaks chat completions (llama-server): the request
 * becomes a chat request, the chat answer (whole or streamed) becomes a Response. Pure functions
 * and one stream class, no I/O; the /v1/responses route decides when to use them. See README.md.
 */

export { inputItems } from "./input.ts";
export type { ResponseContext } from "./output.ts";
export { toChatRequest } from "./request.ts";
export { toResponse } from "./response.ts";
export { ChatToResponseStream, type StreamEvent } from "./stream.ts";
