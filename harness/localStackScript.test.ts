import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { spawnNode } from "./childProcess.ts";
import type { LocalStackInfo } from "./localStack.ts";
import { parseSimScriptEnv } from "./simScripts.ts";

const dir = mkdtempSync(join(tmpdir(), "gonka-local-script-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("GONKA_SIM_SCRIPT", () => {
  it("reads a file for every vLLM chat model, or model=file pairs by id or alias", () => {
    expect(parseSimScriptEnv(undefined)).toEqual({});
    expect(parseSimScriptEnv("a.yaml")).toEqual({ "*": "a.yaml" });
    expect(parseSimScriptEnv("moonshotai/Kimi-K2.5=a.yaml, qwen3-32b=b.json")).toEqual({
      "kimi-k2.5": "a.yaml",
      "qwen3-32b": "b.json",
    });
    expect(() => parseSimScriptEnv("kimi-k2.5=")).toThrow(/model=file/);
    expect(() => parseSimScriptEnv("no-such-model=a.yaml")).toThrow();
  });

  it("npm start loads it into the chat simulators, not the llama.cpp or embedding ones, and /sim/script swaps it live", async () => {
    const script = join(dir, "script.yaml");
    writeFileSync(
      script,
      "strict: true\nrules:\n  - name: hi\n    match: { lastUserContains: hello }\n    reply: { content: scripted hello }\n",
    );
    const dataDir = join(dir, "data");
    const stack = await spawnNode({
      name: "local stack with a script",
      script: fileURLToPath(new URL("./localStack.ts", import.meta.url)),
      env: { ...process.env, GONKA_DATA_DIR: dataDir, GONKA_PORT: "0", GONKA_SIM_SCRIPT: script },
      ready: (line) => (line.includes("Ctrl-C stops everything") ? true : undefined),
      timeoutMs: 60_000,
    });
    try {
      const info = JSON.parse(readFileSync(join(dataDir, "local-stack.json"), "utf8")) as LocalStackInfo;
      const chat = (model: string, content: string) =>
        fetch(`${info.gatewayUrl}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${info.apiKey}` },
          body: JSON.stringify({ model, messages: [{ role: "user", content }] }),
        }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, never> }));
      // Both kimi-k2.5 replicas carry the script (two requests may land on either).
      for (let i = 0; i < 4; i++) {
        const res = await chat("kimi-k2.5", "hello");
        expect(JSON.stringify(res.json)).toContain("scripted hello");
      }
      const miss = await chat("qwen3-32b", "something else");
      expect(miss.status).toBe(400);
      expect(JSON.stringify(miss.json)).toContain("no simulator script rule matched");
      // The llama.cpp backend is not scripted unless named.
      const q2 = await chat("kimi-k2.5-q2", "something else");
      expect(q2.status).toBe(200);
      for (const b of info.backends) {
        const current = (await (await fetch(`${b.url}/sim/script`)).json()) as { script: unknown };
        const chatModel = b.model !== "kimi-k2.5-q2" && b.model !== "qwen3-embedding-0.6b";
        expect(current.script !== null).toBe(chatModel);
      }
      // Replace the script on every kimi-k2.5 replica at runtime, no restart.
      for (const b of info.backends.filter((x) => x.model === "kimi-k2.5")) {
        const res = await fetch(`${b.url}/sim/script`, {
          method: "POST",
          body: JSON.stringify({ rules: [{ reply: { content: "swapped" } }] }),
        });
        expect(res.status).toBe(200);
      }
      expect(JSON.stringify((await chat("kimi-k2.5", "hello")).json)).toContain("swapped");
    } finally {
      await stack.stop();
    }
  }, 90_000);
});
