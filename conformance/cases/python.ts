/**
 * The same contract through a second client: conformance/python/check_openai.py
 * with the official Python `openai` package. The interpreter is, in order:
 * CONFORMANCE_PYTHON (must work), `.gonka/venv-conformance` (made here on first
 * use with conformance/python/requirements.txt unless CONFORMANCE_PYTHON_SETUP=0),
 * or a `python3` that already imports openai. Without one the case skips, saying why.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { assert, type Case, type Skip } from "./types.ts";

const run = promisify(execFile);
const here = resolve(import.meta.dirname, "..", "python");
const SCRIPT = resolve(here, "check_openai.py");
const REQUIREMENTS = resolve(here, "requirements.txt");
const VENV = resolve(import.meta.dirname, "..", "..", ".gonka", "venv-conformance");

async function importsOpenai(python: string): Promise<boolean> {
  try {
    await run(python, ["-c", "import openai"], { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** A Python that imports openai, or the reason there is none. */
export async function findPython(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ python?: string; why: string }> {
  const explicit = env["CONFORMANCE_PYTHON"];
  if (explicit) {
    if (await importsOpenai(explicit)) return { python: explicit, why: "" };
    throw new Error(`CONFORMANCE_PYTHON=${explicit} cannot import openai`);
  }
  const venvPython = resolve(VENV, "bin", "python");
  if (existsSync(venvPython) && (await importsOpenai(venvPython))) return { python: venvPython, why: "" };
  if (await importsOpenai("python3")) return { python: "python3", why: "" };
  try {
    await run("python3", ["--version"], { timeout: 10_000 });
  } catch {
    return { why: "no python3 on this machine" };
  }
  if (env["CONFORMANCE_PYTHON_SETUP"] === "0") {
    return { why: "python3 has no openai package and CONFORMANCE_PYTHON_SETUP=0 forbids making a venv" };
  }
  try {
    console.log(`conformance: creating ${VENV} with ${REQUIREMENTS} (first run only)…`);
    await run("python3", ["-m", "venv", VENV], { timeout: 60_000 });
    await run(venvPython, ["-m", "pip", "install", "--quiet", "-r", REQUIREMENTS], { timeout: 180_000 });
  } catch (err) {
    return { why: `could not install the Python openai package: ${(err as Error).message.split("\n")[0]}` };
  }
  return (await importsOpenai(venvPython))
    ? { python: venvPython, why: "" }
    : { why: "the new venv cannot import openai" };
}

export const pythonCases: Case[] = [
  {
    name: "the Python openai client passes the cross-check (models, chat, stream, tools, embeddings, 404)",
    timeoutMs: 240_000,
    async run(s, skip: Skip) {
      const { python, why } = await findPython();
      if (!python) return skip(why);
      const args = ["--base-url", s.baseUrl];
      const chat = s.modelsWith("chat")[0];
      const tools = s.modelsWith("tools")[0];
      const embedding = s.modelsWith("embeddings")[0];
      if (chat) args.push("--chat-model", chat);
      if (tools) args.push("--tools-model", tools);
      if (embedding) args.push("--embedding-model", embedding);
      const env = { ...process.env, ...(s.apiKey ? { GONKA_API_KEY: s.apiKey } : {}) };
      let out: string;
      try {
        out = (await run(python, [SCRIPT, ...args], { env, timeout: 120_000 })).stdout;
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        throw new Error(`check_openai.py failed:\n${e.stdout ?? ""}${e.stderr ?? e.message}`);
      }
      console.log(out.trimEnd());
      assert(/checks passed/.test(out), `unexpected output:\n${out}`);
    },
  },
];
