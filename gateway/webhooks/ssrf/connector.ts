/**
 * The delivery side of the SSRF guard: an undici Agent whose connections are checked
 * twice. The DNS lookup refuses a name that now resolves to a forbidden address (rebinding),
 * before any packet is sent to it; and once connected, the socket's peer address is checked
 * again (an IP-literal host skips the lookup). The Agent follows no redirects (undici only
 * does with a redirect interceptor, which we never add): a 3xx is a failed attempt.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import type { Socket } from "node:net";
import { Agent, buildConnector } from "undici";
import { assertAddressAllowed, type UrlPolicy, WebhookUrlRefused } from "./guard.ts";

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

export interface GuardedAgentOptions {
  policy: UrlPolicy;
  /** Connect timeout per attempt. */
  connectTimeoutMs: number;
  /** Test seam: a resolver standing in for DNS (loopback answers only in tests). */
  lookup?: typeof dnsLookup;
}

export function guardedAgent(opts: GuardedAgentOptions): Agent {
  const { allowlist } = opts.policy;
  const resolve = opts.lookup ?? dnsLookup;
  const lookup = (hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      try {
        if (!allowlist.allowsHost(hostname)) {
          for (const a of list) assertAddressAllowed(a.address, allowlist, hostname);
        }
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, []);
      }
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first)
        return callback(Object.assign(new Error(`${hostname} did not resolve`), { code: "ENOTFOUND" }), []);
      callback(null, first.address, first.family);
    });
  };
  const connect = buildConnector({ timeout: opts.connectTimeoutMs, lookup } as buildConnector.BuildOptions);
  return new Agent({
    // One attempt per connection: a pooled socket would skip the checks a new lookup makes.
    pipelining: 0,
    connect(options, callback) {
      return connect(options, (err, socket) => {
        if (err) return callback(err, null);
        const peer = (socket as Socket).remoteAddress;
        try {
          if (!allowlist.allowsHost(options.hostname)) {
            if (!peer) throw new WebhookUrlRefused("the connection has no peer address");
            assertAddressAllowed(peer, allowlist, options.hostname);
          }
        } catch (refused) {
          socket!.destroy();
          return callback(refused as Error, null);
        }
        callback(null, socket!);
      });
    },
  });
}
