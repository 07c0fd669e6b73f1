/** Calls a gateway's admin API with its admin key; throws with the answer on any non-2xx. */
export type AdminCall = (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>>;

export function adminClient(baseUrl: string, adminKey: string): AdminCall {
  return async (method, path, body) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`admin ${method} ${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
}
