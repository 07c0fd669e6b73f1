/**
 * The registration-time check of a webhook URL: scheme, shape, and every address its host
 * resolves to. It resolves names but never connects: registering a URL sends it nothing.
 * Delivery checks again, against the address actually connected to (connector.ts), because
 * a name may resolve differently later (DNS rebinding).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { type Allowlist, refusalReason } from "./addresses.ts";

/** Resolves a host name to every address it has (A and AAAA). */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export interface UrlPolicy {
  /** `http:` URLs are accepted too (config `webhooks.allowHttp`); `https:` only otherwise. */
  allowHttp: boolean;
  allowlist: Allowlist;
}

/** A webhook URL the guard refuses; `reason` says why in words an API client can act on. */
export class WebhookUrlRefused extends Error {
  override name = "WebhookUrlRefused";
}

const MAX_URL_LENGTH = 2048;

/** The URL's host as a bare name or address (WHATWG keeps IPv6 in brackets). */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}

/**
 * Parses and checks `raw`; resolves with the normalised URL or rejects with WebhookUrlRefused.
 * WHATWG parsing turns `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` into `127.0.0.1`
 * before we look, so the address checks see the canonical form.
 */
export async function checkWebhookUrl(raw: string, policy: UrlPolicy, resolve: Resolver): Promise<URL> {
  if (raw.length > MAX_URL_LENGTH)
    throw new WebhookUrlRefused(`url must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlRefused("url is not an absolute URL");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && policy.allowHttp)) {
    throw new WebhookUrlRefused(
      policy.allowHttp ? "url must use https or http" : "url must use https (http is not allowed here)",
    );
  }
  // Credentials in a URL end up in logs and delivery listings; a receiver authenticates by signature.
  if (url.username || url.password) throw new WebhookUrlRefused("url must not contain credentials");
  const host = bareHost(url);
  assertCanonicalHost(raw, url);
  if (policy.allowlist.allowsHost(host)) return url;
  if (isIP(host)) {
    assertAddressAllowed(host, policy.allowlist);
    return url;
  }
  // Special-use names (RFC 6761) are refused by name: what they resolve to depends on the host.
  const name = host.toLowerCase().replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost") || name.endsWith(".local") || !name.includes(".")) {
    throw new WebhookUrlRefused(`url host \`${host}\` is a local name`);
  }
  let addresses: string[];
  try {
    addresses = await resolve(name);
  } catch {
    throw new WebhookUrlRefused(`url host \`${host}\` does not resolve`);
  }
  if (addresses.length === 0) throw new WebhookUrlRefused(`url host \`${host}\` does not resolve`);
  // Every address must pass: a client picks any of them, so one private answer is enough to refuse.
  for (const address of addresses) assertAddressAllowed(address, policy.allowlist, host);
  return url;
}

/**
 * Refuses an IPv4 host written in any form but dotted decimal (`2130706433`, `0x7f000001`,
 * `0177.0.0.1`, `127.1`): parsers disagree on these (a proxy on the way may read `0177` as
 * decimal), and a URL that means something other than what it shows is an attack, not a typo.
 */
function assertCanonicalHost(raw: string, url: URL): void {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#\\]*)/i.exec(raw.trim())?.[1];
  if (authority === undefined) throw new WebhookUrlRefused("url must have the form https://host/path");
  const written = authority.replace(/^.*@/, "").replace(/:\d*$/, "").toLowerCase();
  if (isIP(url.hostname) === 4 && written !== url.hostname && written !== `${url.hostname}.`) {
    throw new WebhookUrlRefused(
      `url host \`${written}\` is an IPv4 address in a non-canonical form (it means ${url.hostname}); write it as ${url.hostname}`,
    );
  }
}

/** Throws WebhookUrlRefused unless `address` is public or allow-listed. */
export function assertAddressAllowed(address: string, allowlist: Allowlist, host?: string): void {
  if (allowlist.allowsAddress(address)) return;
  const reason = refusalReason(address);
  if (reason) {
    throw new WebhookUrlRefused(
      `${host ? `url host \`${host}\` resolves to ${address}: ` : "url host: "}${reason}, which webhooks may not reach`,
    );
  }
}
