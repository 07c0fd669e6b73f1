/**
 * `npm run fuzz [-- --runs N --seed S]`: the fuzz test's property for as long as you like
 * against a fresh gateway process (simulated backend, temporary data folder). Prints the
 * seed, so a failure replays with `--seed`.
 */
import { parseArgs } from "node:util";
import { adminClient } from "../../../harness/adminClient.ts";
import { ADMIN_KEY, startProcessFixture } from "../processFixture.ts";
import { runFuzz, servedNames } from "./runFuzz.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "100000" }, seed: { type: "string" } },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
console.log(`fuzz: ${runs} requests, seed ${seed}`);

const fx = await startProcessFixture({ preset: "qwen3-32b" });
let failed = false;
try {
  const gw = await fx.startGateway();
  const { secret } = await fx.createKey(gw, { name: "fuzz", tier: "enterprise" });
  const started = Date.now();
  const ran = await runFuzz(
    { apiUrl: gw.url, opsUrl: gw.opsUrl },
    { apiKey: secret, servedNames: servedNames(fx.configPath) },
    { runs, seed },
  );
  const admin = adminClient(gw.opsUrl, ADMIN_KEY);
  const usage = (await admin("GET", "/admin/usage")) as { data: unknown[] };
  const keys = (await admin("GET", "/admin/keys")) as { data: unknown[] };
  if (gw.child.exitCode !== null) throw new Error("the gateway exited");
  if (usage.data.length !== 0) throw new Error(`usage rows appeared: ${JSON.stringify(usage.data)}`);
  if (keys.data.length !== 1) throw new Error(`keys appeared: ${keys.data.length}`);
  console.log(`fuzz: ${ran} requests in ${((Date.now() - started) / 1000).toFixed(1)} s, all answered well`);
} catch (err) {
  failed = true;
  console.error(`fuzz: FAILED (seed ${seed}): ${(err as Error).message}`);
} finally {
  await fx.close();
}
process.exit(failed ? 1 : 0);
