/**
 * The suite must be able to fail. Each known vLLM K2.5 fault is switched on in
 * a simulator replica behind a real gateway, and the very cases the suite runs
 * (same `run` functions, same checks) must fail; with the fault cleared they
 * must pass again, so the failure is the fault's and not the setup's.
 * `wrong_error_shape` is checked twice: straight at the simulator (the error-shape
 * check must fail) and through the gateway, which rewrites upstream errors into
 * OpenAI's shape (the case must pass).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Fixture, setFaults, startFixture } from "../gateway/test/fixtures.ts";
import type { SpawnedSimulator } from "../sim/spawn.ts";
import { errorCases } from "./cases/errors.ts";
import { reasoningCasesFor } from "./cases/reasoning.ts";
import {
  concurrentStreamingToolCallsCase,
  kimiToolIdCase,
  longArgumentCases,
  toolCasesFor,
} from "./cases/tools.ts";
import type { Case } from "./cases/types.ts";
import { ConformanceFailure } from "./lib/checks.ts";
import { createSuite, type SuiteContext } from "./lib/suite.ts";

const MODEL = "kimi-k2.5";
let fixture: Fixture;
let sim: SpawnedSimulator;
let viaGateway: SuiteContext;
let direct: SuiteContext;

beforeAll(async () => {
  // A little latency so 16 streams overlap and `minConcurrent` can trigger.
  fixture = await startFixture([{ preset: MODEL, replicas: 1, simArgs: ["--ttft-ms", "30"] }]);
  sim = fixture.sims.get(MODEL)![0]!;
  viaGateway = await createSuite({ baseUrl: fixture.url, opsUrl: fixture.opsUrl, ownKey: false });
  direct = await createSuite({ baseUrl: sim.url, ownKey: false });
});
afterAll(() => fixture?.close());
beforeEach(() => setFaults(sim, []));

const noSkip = (reason: string): never => {
  throw new Error(`the meta-test expected the case to run, but it skipped: ${reason}`);
};

function byName(cases: readonly Case[], prefix: string): Case {
  const c = cases.find((x) => x.name.startsWith(prefix));
  if (!c) throw new Error(`no case named "${prefix}…"`);
  return c;
}

/** Runs `c`; resolves with the ConformanceFailure it raised, or undefined when it passed. */
async function outcome(c: Case, s: SuiteContext): Promise<ConformanceFailure | undefined> {
  try {
    await c.run(s, noSkip);
    return undefined;
  } catch (err) {
    if (err instanceof ConformanceFailure) return err;
    throw err;
  }
}

const [autoToolCase, streamToolCase] = toolCasesFor(MODEL) as [Case, Case];
const [thinkingOnCase, thinkingOnStreamCase] = reasoningCasesFor(MODEL) as [Case, Case];

interface FaultRow {
  fault: Record<string, unknown>;
  cases: Case[];
  /** What the failure message must mention. */
  expect: RegExp;
}

const rows: FaultRow[] = [
  {
    fault: { mode: "leak_tool_markers" },
    cases: [autoToolCase, streamToolCase, kimiToolIdCase],
    expect: /template marker|no tool_calls/,
  },
  {
    fault: { mode: "truncate_tool_args", maxChars: 256 },
    cases: [...longArgumentCases],
    expect: /not valid JSON|changed/,
  },
  {
    fault: { mode: "think_in_content" },
    cases: [thinkingOnCase, thinkingOnStreamCase],
    expect: /<\/think>|reasoning/,
  },
  {
    fault: { mode: "empty_stream_tool_calls", minConcurrent: 4 },
    cases: [concurrentStreamingToolCallsCase],
    expect: /concurrent streams failed.*no tool_calls/,
  },
];

describe("the suite catches the known vLLM K2.5 faults", () => {
  for (const row of rows) {
    for (const c of row.cases) {
      it(`${row.fault["mode"]} makes "${c.name}" fail, and it passes again once cleared`, async () => {
        await setFaults(sim, [row.fault]);
        const failure = await outcome(c, viaGateway);
        expect(failure, "the case passed although the fault was on").toBeInstanceOf(ConformanceFailure);
        expect(failure!.message).toMatch(row.expect);
        await setFaults(sim, []);
        expect(await outcome(c, viaGateway)).toBeUndefined();
      });
    }
  }

  it("empty_stream_tool_calls with minConcurrent spares a lone stream (the bug needs load)", async () => {
    await setFaults(sim, [{ mode: "empty_stream_tool_calls", minConcurrent: 4 }]);
    expect(await outcome(streamToolCase, viaGateway)).toBeUndefined();
  });
});

describe("wrong_error_shape", () => {
  // An error only the backend can raise, so the gateway has to carry (and fix) the upstream body.
  const backend400 = byName(errorCases, "400 from the backend");

  it("straight at the simulator, the error-shape check fails on the vendor body", async () => {
    await setFaults(sim, [{ mode: "wrong_error_shape" }]);
    const failure = await outcome(backend400, direct);
    expect(failure).toBeInstanceOf(ConformanceFailure);
    expect(failure!.message).toMatch(/no "error" object/);
    await setFaults(sim, []);
    // Without the fault the simulator answers like vLLM: an "error" object (whose numeric `code`
    // still breaks OpenAI's schema, which is why the gateway rewrites it).
    expect((await outcome(backend400, direct))?.message ?? "").not.toMatch(/no "error" object/);
  });

  it("through the gateway, upstream errors are rewritten into OpenAI's shape and the case passes", async () => {
    await setFaults(sim, [{ mode: "wrong_error_shape" }]);
    expect(await outcome(backend400, viaGateway)).toBeUndefined();
  });
});
