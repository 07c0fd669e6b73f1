/**
 * `npm run usage -- [--target local|<stack> | --base-url U --api-key K [--admin-key A --admin-url U]]
 *   [--session ID | --key ID] [--group-by model,session,…] [--since 15m] [--watch] [--interval 2]`
 *
 * Usage as a table: the admin API's view (any key, any session) when the target has an
 * admin key, else the API key's own (`/v1/usage`). With --watch it refreshes until
 * Ctrl-C; a failed refresh is shown and retried, not fatal, so a gateway restart does not
 * end the view. Never starts a local stack and never creates keys: it only reads.
 */
import { parseArgs } from "node:util";
import { resolveEndpoints, type Target, targetOptionsFromArgs } from "../harness/targets.ts";
import { renderUsageTable, type UsageRowJson } from "./usageTable.ts";

const HELP = `usage: npm run usage -- [--target local|<stack> | --base-url URL --api-key KEY [--admin-key KEY --admin-url URL]]
                      [--session ID | --key ID] [--group-by FIELDS] [--since DURATION] [--watch] [--interval SECONDS]

  --target          local (the running npm start; default), a Pulumi stack name, or use --base-url
  --session ID      one session's usage          --key ID   one key's usage (needs the admin key)
  --group-by        comma-separated key, model, session, period (default: model)
  --since           only requests in the last DURATION: 90s, 15m, 2h, 7d (default: all)
  --watch           refresh until Ctrl-C           --interval  seconds between refreshes (default 2)
With an admin key (the local stack's, a stack's output, --admin-key) the admin API is read;
otherwise /v1/usage with the API key, which shows only that key's usage.`;

const SINCE_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export interface UsageViewOptions {
  session?: string | undefined;
  key?: string | undefined;
  groupBy: string[];
  sinceMs?: number | undefined;
}

export function parseViewArgs(argv: string[]): UsageViewOptions & { watch: boolean; intervalMs: number } {
  const { values } = parseFlags(argv);
  if (values.help) throw new UsageError(HELP, 0);
  if (values.session && values.key) throw new UsageError("give --session or --key, not both");
  let sinceMs: number | undefined;
  if (values.since !== undefined) {
    const m = /^(\d+)([smhd])$/.exec(values.since);
    if (!m) throw new UsageError(`--since ${values.since}: use a number and s, m, h or d (e.g. 15m)`);
    sinceMs = Number(m[1]) * SINCE_UNITS[m[2]!]!;
  }
  const interval = values.interval === undefined ? 2 : Number(values.interval);
  if (!Number.isFinite(interval) || interval < 0.2) throw new UsageError("--interval: at least 0.2 seconds");
  const groupBy = (values["group-by"] ?? "model")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    session: values.session,
    key: values.key,
    groupBy,
    sinceMs,
    watch: values.watch,
    intervalMs: interval * 1000,
  };
}

/** node:util's parser; an unknown or malformed flag becomes a UsageError (exit 2) with the help. */
function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      options: {
        target: { type: "string" },
        "base-url": { type: "string" },
        "api-key": { type: "string" },
        "admin-key": { type: "string" },
        "admin-url": { type: "string" },
        "ops-url": { type: "string" },
        session: { type: "string" },
        key: { type: "string" },
        "group-by": { type: "string" },
        since: { type: "string" },
        watch: { type: "boolean", default: false },
        interval: { type: "string" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${HELP}`);
  }
}

/** A mistake in how the view was asked for: its message is shown without a stack. */
export class UsageError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Where to read and with which credential: the admin API when the target allows it. */
export function usageSource(
  target: Target,
  view: UsageViewOptions,
): { url: string; token: string; scope: string } {
  if (target.adminKey && target.adminUrl) {
    return { url: `${target.adminUrl}/admin/usage`, token: target.adminKey, scope: "all keys (admin)" };
  }
  if (view.key)
    throw new UsageError("--key needs the admin key (--admin-key or GONKA_ADMIN_KEY) and admin URL");
  if (!target.apiKey) throw new UsageError(`${target.name}: no API key or admin key to read usage with`);
  return { url: `${target.baseUrl}/v1/usage`, token: target.apiKey, scope: "this API key" };
}

async function fetchRows(url: string, token: string, params: URLSearchParams): Promise<UsageRowJson[]> {
  const res = await fetch(`${url}?${params}`, {
    headers: { authorization: `Bearer ${token}`, accept: "application/json" },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { error: { message: string } }).error.message;
    } catch {}
    throw new Error(`${res.status} from ${url}: ${message}`);
  }
  return (JSON.parse(text) as { data: UsageRowJson[] }).data;
}

/** One frame: the grouped rows and, beside them, the ungrouped total (percentiles do not add up). */
export async function usageFrame(target: Target, view: UsageViewOptions, now = Date.now()): Promise<string> {
  const source = usageSource(target, view);
  const params = new URLSearchParams();
  if (view.session) params.set("session_id", view.session);
  if (view.key) params.set("key_id", view.key);
  if (view.sinceMs !== undefined) params.set("from", String(Math.floor((now - view.sinceMs) / 1000)));
  const grouped = new URLSearchParams(params);
  if (view.groupBy.length > 0) grouped.set("group_by", view.groupBy.join(","));
  const [rows, totals] = await Promise.all([
    fetchRows(source.url, source.token, grouped),
    view.groupBy.length > 0 ? fetchRows(source.url, source.token, params) : Promise.resolve([]),
  ]);
  const filter = view.session ? `session ${view.session}` : view.key ? `key ${view.key}` : source.scope;
  const title = `usage · ${target.name} · ${filter} · ${new Date(now).toISOString().slice(11, 19)} UTC`;
  return `${title}\n${renderUsageTable(view.groupBy, rows, totals[0])}`;
}

async function main(argv: string[]): Promise<number> {
  const args = parseViewArgs(argv);
  const target = await resolveEndpoints({ ...targetOptionsFromArgs(argv), startLocal: false });
  if (!args.watch) {
    process.stdout.write(`${await usageFrame(target, args)}\n`);
    return 0;
  }
  const tty = process.stdout.isTTY === true;
  // The first frame shows a mistake in the flags or the target (a UsageError) and ends the
  // run; after that nothing about them changes, so only the gateway can fail, and is retried.
  let frame = await usageFrame(target, args);
  let stopped = false;
  let wake: () => void = () => {};
  const stop = () => {
    stopped = true;
    wake();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  while (!stopped) {
    // On a terminal the table redraws in place; piped, each frame follows the last.
    process.stdout.write(tty ? `\x1b[H\x1b[2J${frame}\n(Ctrl-C to stop)\n` : `${frame}\n\n`);
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, args.intervalMs);
    });
    if (stopped) break;
    frame = await usageFrame(target, args).catch(
      (err: Error) => `usage · ${target.name} · refresh failed: ${err.message}; retrying`,
    );
  }
  process.stdout.write("\n");
  return 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      const code = err instanceof UsageError ? err.exitCode : 1;
      (code === 0 ? process.stdout : process.stderr).write(`${err.message}\n`);
      process.exit(code);
    },
  );
}
