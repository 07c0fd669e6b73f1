import { parseCli, USAGE, UsageError } from "./cli.ts";
import { createSimulator } from "./server.ts";

async function main(): Promise<void> {
  let config: Awaited<ReturnType<typeof parseCli>>;
  try {
    config = await parseCli(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`sim: ${err.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (config.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const sim = createSimulator(config.options);
  const url = await sim.listen(config.port, config.host);
  let stopping = false;
  const shutdown = (reason: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`sim: shutting down (${reason})\n`);
    // A stuck close must not keep a test child alive.
    setTimeout(() => process.exit(0), 2000).unref();
    void sim.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  if (config.exitWithStdin) {
    process.stdin.on("end", () => shutdown("stdin closed"));
    process.stdin.on("close", () => shutdown("stdin closed"));
    process.stdin.on("error", () => shutdown("stdin error"));
    process.stdin.resume();
  }
  // Last, after the handlers: whoever waits for this line may signal before our next line runs.
  process.stdout.write(
    `${JSON.stringify({ event: "listening", url, model: sim.preset.id, pid: process.pid })}\n`,
  );
}

await main();
