import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../testing/stackFiles.ts";

/**
 * Issue 18, item 2: `pulumi preview --policy-pack stacks/policy` starts the pack through
 * @pulumi/pulumi's run-policy-pack in the pack's folder (`<runner> <engine> .`), which registers
 * ts-node and `require`s the folder. Before PulumiPolicy.yaml, package.json and index.mjs it
 * died with MODULE_NOT_FOUND. This starts the runner exactly so and asks the pack, over its
 * gRPC Analyzer service, which policies it carries.
 */
const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
const analyzerGrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb.js");
const emptyPb = require("google-protobuf/google/protobuf/empty_pb.js");

let runner: ChildProcess | undefined;
afterEach(() => {
  runner?.kill("SIGKILL");
  runner = undefined;
});

/**
 * Starts the pack as the CLI does and resolves with the port it prints. `folder`: what the
 * Node language host runs for `--policy-pack stacks/policy`; `run.sh`: the file the CLI
 * executes for `--policy-pack stacks/policy/run.sh` (the engine check's way).
 */
function startPack(how: "folder" | "run.sh"): Promise<number> {
  const runPolicyPack = `${REPO_ROOT}node_modules/@pulumi/pulumi/cmd/run-policy-pack`;
  // The engine address is only dialled when the pack logs; nothing listens on it here.
  runner =
    how === "folder"
      ? spawn(process.execPath, [runPolicyPack, "127.0.0.1:9", "."], {
          cwd: `${REPO_ROOT}stacks/policy`,
          stdio: ["ignore", "pipe", "pipe"],
        })
      : spawn(`${REPO_ROOT}stacks/policy/run.sh`, ["127.0.0.1:9"], {
          cwd: REPO_ROOT,
          env: { ...process.env, GONKA_POLICY_NODE: process.execPath },
          stdio: ["ignore", "pipe", "pipe"],
        });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    runner?.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const port = /^(\d+)\s/.exec(out);
      if (port) resolve(Number(port[1]));
    });
    runner?.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    runner?.on("exit", (code) => reject(new Error(`policy pack exited ${code}: ${err}${out}`)));
  });
}

interface PolicyInfo {
  getName(): string;
  getEnforcementlevel(): number;
}

describe("policy pack under the Pulumi policy runner (issue 18, item 2)", () => {
  it.each(["folder", "run.sh"] as const)(
    "loads (%s) and serves every policy, mandatory",
    async (how) => {
      const port = await startPack(how);
      const client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const info = await new Promise<{ getName(): string; getPoliciesList(): PolicyInfo[] }>(
        (resolve, reject) =>
          client.getAnalyzerInfo(new emptyPb.Empty(), (e: Error | null, r: never) =>
            e ? reject(e) : resolve(r),
          ),
      );
      client.close();
      expect(info.getName()).toBe("gonka");
      const names = info.getPoliciesList().map((p) => p.getName());
      for (const name of ["images-pinned", "gpu-limits-on-model-servers", "database-url-from-secret"])
        expect(names).toContain(name);
      // EnforcementLevel MANDATORY = 1 in analyzer.proto.
      expect(new Set(info.getPoliciesList().map((p) => p.getEnforcementlevel()))).toEqual(new Set([1]));
    },
    60_000,
  );
});
