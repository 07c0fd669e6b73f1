/**
 * Starts the reference vLLM and keeps it running: `node reference-engine/main.ts [vllm flags...]`.
 * Prints one JSON line `{"event":"listening","url",...,"startupMs"}` like the simulator does;
 * Ctrl-C or SIGTERM stops it (and its engine process).
 */
import { startReferenceVllm } from "./referenceVllm.ts";

const ref = await startReferenceVllm({ extraArgs: process.argv.slice(2) });
console.log(
  JSON.stringify({
    event: "listening",
    url: ref.url,
    model: ref.model,
    pid: ref.pid,
    startupMs: ref.startupMs,
  }),
);
const keepAlive = setInterval(() => {}, 1 << 30);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    clearInterval(keepAlive);
    void ref.stop().then(() => process.exit(0));
  });
}
