import type { Endpoint } from "./outcome.ts";

/**
 * The one table of proxied endpoints: the path clients call (the same path on the engine)
 * and the model capability it needs. The router, the capability check and the upstream
 * call all read it.
 */
export interface EndpointSpec {
  readonly endpoint: Endpoint;
  readonly path: string;
  readonly capability: "chat" | "completions" | "embeddings";
}

export const PROXIED_ENDPOINTS: readonly EndpointSpec[] = [
  { endpoint: "chat.completions", path: "/v1/chat/completions", capability: "chat" },
  { endpoint: "completions", path: "/v1/completions", capability: "completions" },
  { endpoint: "embeddings", path: "/v1/embeddings", capability: "embeddings" },
  { endpoint: "responses", path: "/v1/responses", capability: "chat" },
];

const BY_ENDPOINT = new Map(PROXIED_ENDPOINTS.map((e) => [e.endpoint, e]));

export function endpointSpec(endpoint: Endpoint): EndpointSpec {
  return BY_ENDPOINT.get(endpoint)!;
}
