/**
 * `node scripts/node24.cjs scenarios/install.ts`: the heavy one-time installs the scenarios need
 * (each scenario's `prepare`: CrewAI's virtualenv, OpenClaw), cached under ~/.cache/gonka, with
 * progress. `.ci/run` calls it, timed, so a fresh machine pays for them once before the tests;
 * the runner and `npm test` would otherwise do it on first use.
 */
import { SCENARIOS } from "./registry.ts";

const started = Date.now();
for (const s of SCENARIOS) {
  if (!s.prepare) continue;
  const t0 = Date.now();
  await s.prepare((line) => console.log(line));
  console.log(`${s.name}: ready (${Math.round((Date.now() - t0) / 1000)} s)`);
}
console.log(`scenario installs ready in ${Math.round((Date.now() - started) / 1000)} s`);
