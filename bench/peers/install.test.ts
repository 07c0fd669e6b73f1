/** The peers' install lock: one install per folder at a time, and a lock left by a killed run does not block forever. */
import { mkdirSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { peersDir, withLock } from "./install.ts";

let cache: string;
const saved = process.env["GONKA_CACHE_DIR"];
beforeEach(() => {
  cache = mkdtempSync(join(tmpdir(), "gonka-peers-lock-"));
  process.env["GONKA_CACHE_DIR"] = cache;
});
afterEach(() => {
  if (saved === undefined) delete process.env["GONKA_CACHE_DIR"];
  else process.env["GONKA_CACHE_DIR"] = saved;
  rmSync(cache, { recursive: true, force: true });
});

describe("peer install lock", () => {
  it("runs two installs into one folder one after the other, saying the second waits", async () => {
    const dir = join(peersDir(), "portkey-test");
    const events: string[] = [];
    const logs: string[] = [];
    const install = (name: string) => async () => {
      events.push(`${name} start`);
      await sleep(300);
      events.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([
      withLock(dir, (l) => logs.push(l), install("a")),
      withLock(dir, (l) => logs.push(l), install("b")),
    ]);
    expect(results).toEqual(["a", "b"]);
    expect(events).toEqual(["a start", "a end", "b start", "b end"]);
    expect(logs).toEqual([`${dir}.lock: another install is running; waiting…`]);
  });

  it("takes over a lock older than 20 minutes (left by a killed run)", async () => {
    const dir = join(peersDir(), "litellm-test");
    mkdirSync(`${dir}.lock`, { recursive: true });
    const old = new Date(Date.now() - 21 * 60_000);
    utimesSync(`${dir}.lock`, old, old);
    const logs: string[] = [];
    expect(
      await withLock(
        dir,
        (l) => logs.push(l),
        async () => "done",
      ),
    ).toBe("done");
    expect(logs).toEqual([]);
  });
});
