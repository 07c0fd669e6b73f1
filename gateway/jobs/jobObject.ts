/**
 * Placeholder until the async-jobs branch lands: the job object as the webhooks see it (any
 * JSON object with `id`, `object`, `status`). The jobs branch defines the real type here.
 */
export type JobObject = Record<string, unknown>;
