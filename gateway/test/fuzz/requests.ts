/**
 * fast-check arbitraries for malformed requests: methods, request targets (percent-encodings,
 * raw bytes), headers (content types, credentials), bodies (wrong JSON types, truncated UTF-8,
 * huge numbers, deep nesting, random bytes). No generated request can reach a backend: the
 * `model` field never names a served model, so nothing is proxied and no usage row can exist.
 */
import fc from "fast-check";
import type { RawRequest } from "./rawHttp.ts";

export interface FuzzContext {
  /** A valid API key: requests with it get past authentication and exercise validation. */
  readonly apiKey: string;
  /** Model ids and aliases the gateway serves; generated `model` values avoid them. */
  readonly servedNames: ReadonlySet<string>;
}

export interface FuzzCase {
  readonly listener: "api" | "ops";
  readonly req: RawRequest;
}

const utf8 = (s: string) => Buffer.from(s, "utf8");

const method = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom("GET", "GET", "GET", "POST", "POST", "POST", "PUT", "PATCH", "DELETE"),
  },
  { weight: 2, arbitrary: fc.constantFrom("OPTIONS", "HEAD", "TRACE", "PROPFIND", "CONNECT", "SEARCH") },
  { weight: 1, arbitrary: fc.constantFrom("post", "FOO", "GÉT", "P OST", "", "G\u0000T") },
);

const KNOWN_PATHS = [
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/embeddings",
  "/v1/models",
  "/v1/models/qwen3-32b",
  "/v1/models/moonshotai/Kimi-K2.5",
  "/v1/responses",
  "/healthz",
  "/readyz",
  "/metrics",
  "/health/models",
  "/gonka/info",
  "/admin/keys",
  "/admin/usage",
  "/admin/keys/key_0/rotate",
  "/",
];

const percent = fc.constantFrom(
  "%41",
  "%E0%A4%A",
  "%",
  "%zz",
  "%00",
  "%2F",
  "%C3%28",
  "%FF",
  "%E2%82",
  "%25",
);

const target: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...KNOWN_PATHS).map(utf8) },
      {
        weight: 3,
        arbitrary: fc
          .tuple(
            fc.constantFrom(...KNOWN_PATHS),
            fc.array(fc.oneof(percent, fc.string({ maxLength: 8 })), { maxLength: 4 }),
          )
          .map(([p, parts]) =>
            utf8(`${p}${p.endsWith("/") ? "" : "/"}${parts.join("")}`.replace(/[\s#]/g, "_")),
          ),
      },
      {
        weight: 1,
        arbitrary: fc
          .uint8Array({ minLength: 1, maxLength: 40 })
          .map((b) =>
            Buffer.concat([utf8("/"), Buffer.from(b.filter((x) => x !== 0x20 && x !== 0x0d && x !== 0x0a))]),
          ),
      },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom(
            "*",
            "http://example.com/v1/models",
            "//v1//models",
            "/v1/models/" + "a".repeat(5_000),
          )
          .map(utf8),
      },
    ),
    fc.option(
      fc.oneof(
        fc.constant("?"),
        fc.string({ maxLength: 20 }).map((q) => `?${encodeURIComponent(q)}`),
        fc.constant("?a=%E0%A4%A&b"),
      ),
      { nil: "" },
    ),
  )
  .map(([path, query]) => Buffer.concat([path, utf8(query)]));

/** Any JSON-ish value, with the numbers and strings that break naive code. */
const nasty: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, 2 ** 53 + 1, 0.5, "", "x", [], {}),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 30 }),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

export function fuzzCases(ctx: FuzzContext): fc.Arbitrary<FuzzCase> {
  const model = fc
    .oneof(
      fc.constantFrom("gpt-4o", "", "QWEN3-32B", "qwen3-32b ", "qwen3-32b\u0000", "auto", "../etc/passwd"),
      nasty,
    )
    .filter((m) => !(typeof m === "string" && ctx.servedNames.has(m)));
  const messages = fc.oneof(
    fc.constant([{ role: "user", content: "hi" }]),
    fc.array(fc.record({ role: nasty, content: nasty }, { requiredKeys: [] }), { maxLength: 3 }),
    nasty,
  );
  const requestObject = fc.record(
    {
      model,
      messages,
      prompt: nasty,
      input: nasty,
      stream: nasty,
      stream_options: nasty,
      max_tokens: nasty,
      temperature: nasty,
      n: nasty,
      tools: fc.oneof(nasty, fc.constant([{ type: "function", function: {} }])),
      encoding_format: nasty,
    },
    { requiredKeys: ["model"] },
  );
  const body: fc.Arbitrary<Buffer> = fc.oneof(
    { weight: 5, arbitrary: requestObject.map((o) => utf8(JSON.stringify(o))) },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 3 }).map(utf8) },
    {
      weight: 1,
      arbitrary: requestObject.map((o) => {
        // Truncated UTF-8: a multi-byte character cut in the middle of a string.
        const text = utf8(JSON.stringify({ ...o, messages: [{ role: "user", content: "héllo" }] }));
        const at = text.indexOf("h\u00c3") >= 0 ? text.indexOf("h\u00c3") : text.length - 3;
        return Buffer.concat([text.subarray(0, at), Buffer.from([0xe0, 0xa4]), text.subarray(at)]);
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom("1e400", "-1e400", "123456789012345678901234567890", "NaN", "0x10", "1_000")
        .map((n) => utf8(`{"model":"gpt-4o","max_tokens":${n},"messages":[{"role":"user","content":"x"}]}`)),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 100, max: 60_000 })
        .map((n) => utf8(`{"model":"gpt-4o","messages":${"[".repeat(n)}${"]".repeat(n)}}`)),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  );
  const headerValue = (values: readonly string[]) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...values).map(utf8) },
      // Raw bytes (obs-text, control characters): what a broken client or an attacker sends.
      {
        weight: 1,
        arbitrary: fc
          .uint8Array({ maxLength: 12 })
          .map((b) => Buffer.from(b.filter((x) => x !== 0x0d && x !== 0x0a))),
      },
    );
  // Most headers are absent most of the time: a request carrying every oddity at once is
  // refused by Node's parser before the gateway's own code sees it.
  const rare = (v: fc.Arbitrary<Buffer>) =>
    fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: v });
  const often = (v: fc.Arbitrary<Buffer>) =>
    fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 4, arbitrary: v });
  const headers = fc
    .record({
      "content-type": often(
        headerValue([
          "application/json",
          "application/json",
          "application/json",
          "application/json; charset=utf-8",
          "APPLICATION/JSON",
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "application/jsonx",
          "",
        ]),
      ),
      "api-key": rare(headerValue([ctx.apiKey, "gk-wrong", ""])),
      "x-request-id": rare(headerValue(["req-1", "a".repeat(500), "id with spaces", "ünïcode"])),
      "x-session-id": rare(headerValue(["s1", "x".repeat(5_000)])),
      "transfer-encoding": rare(headerValue(["chunked", "gzip"])),
      "content-encoding": rare(headerValue(["gzip", "br"])),
      expect: rare(headerValue(["100-continue", ""])),
    })
    .map((h) => Object.entries(h).filter((e): e is [string, Buffer] => e[1] !== undefined));
  // Mostly the valid key, so most requests get past authentication to what comes after it.
  const authorization = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constant<[string, Buffer][]>([["authorization", utf8(`Bearer ${ctx.apiKey}`)]]),
    },
    { weight: 1, arbitrary: fc.constant<[string, Buffer][]>([]) },
    {
      weight: 3,
      arbitrary: headerValue([
        `bearer  ${ctx.apiKey}  `,
        `Bearer ${ctx.apiKey} extra`,
        "Bearer gk-not-a-key-000000000000000000000000",
        "Bearer",
        "Basic YWRtaW46YWRtaW4=",
        "gk-missing-scheme",
        "test-admin-key-wrong-0123456789abcdef",
      ]).map((v): [string, Buffer][] => [["authorization", v]]),
    },
  );
  return fc
    .record({
      listener: fc.constantFrom<"api" | "ops">("api", "api", "api", "ops"),
      method,
      target,
      headers,
      authorization,
      body,
    })
    .map(({ listener, headers, authorization, ...req }) => ({
      listener,
      req: { ...req, headers: [...authorization, ...headers] },
    }));
}
