/**
 * The SSRF guard's refusal table. Registration checks (checkWebhookUrl) run with a resolver
 * stub that records every name it is asked, so the tests also prove that IP-literal URLs are
 * never resolved and nothing is connected. The delivery checks (guardedAgent) connect only to
 * loopback receivers, with `127.0.0.1/32` as the one allow-listed range.
 */
import type { LookupAddress } from "node:dns";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { parseAllowlist, refusalReason } from "./addresses.ts";
import { guardedAgent } from "./connector.ts";
import { checkWebhookUrl, type Resolver, WebhookUrlRefused } from "./guard.ts";

const noAllowlist = { allowHttp: false, allowlist: parseAllowlist([]) };
const loopbackOnly = { allowHttp: true, allowlist: parseAllowlist(["127.0.0.1/32"]) };

/** A DNS stand-in: answers from `table`, records what it was asked. Nothing connects to its answers. */
function stubResolver(table: Record<string, string[]>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (host: string) => {
    asked.push(host);
    const answer = table[host];
    if (!answer) throw Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" });
    return answer;
  };
  return Object.assign(resolve, { asked });
}

describe("refusalReason: the address table", () => {
  it.each([
    ["127.0.0.1", /loopback/],
    ["127.255.255.254", /loopback/],
    ["10.0.0.1", /private/],
    ["172.16.0.1", /private/],
    ["172.31.255.255", /private/],
    ["192.168.1.1", /private/],
    ["169.254.1.1", /link-local/],
    ["169.254.169.254", /cloud metadata/],
    ["100.64.0.1", /carrier-grade NAT/],
    ["100.127.255.255", /carrier-grade NAT/],
    ["224.0.0.1", /multicast/],
    ["239.255.255.250", /multicast/],
    ["0.0.0.0", /unspecified/],
    ["0.1.2.3", /unspecified/],
    ["255.255.255.255", /broadcast/],
    ["192.0.2.1", /reserved/],
    ["::1", /loopback/],
    ["::", /unspecified/],
    ["fe80::1", /link-local/],
    ["febf::1", /link-local/],
    ["fc00::1", /unique local/],
    ["fd12:3456::1", /unique local/],
    ["fd00:ec2::254", /cloud metadata/],
    ["ff02::1", /multicast/],
    ["::ffff:127.0.0.1", /embeds 127\.0\.0\.1.*loopback/],
    ["::ffff:7f00:1", /embeds 127\.0\.0\.1.*loopback/],
    ["::ffff:10.0.0.1", /embeds 10\.0\.0\.1.*private/],
    ["::ffff:169.254.169.254", /cloud metadata/],
    ["64:ff9b::10.0.0.1", /embeds 10\.0\.0\.1.*private/],
    ["64:ff9b::7f00:1", /embeds 127\.0\.0\.1.*loopback/],
    ["64:ff9b:1::1", /NAT64 local-use/],
    ["2002:7f00:1::1", /embeds 127\.0\.0\.1.*loopback/],
    ["::127.0.0.1", /embeds 127\.0\.0\.1/],
    ["2001:db8::1", /reserved/],
    ["fe80::1%eth0", /link-local/],
  ])("refuses %s", (ip, reason) => {
    expect(refusalReason(ip)).toMatch(reason);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "64:ff9b::808:808",
    "::ffff:8.8.8.8",
  ])("accepts the public address %s", (ip) => {
    expect(refusalReason(ip)).toBeNull();
  });
});

describe("checkWebhookUrl: registration", () => {
  it.each([
    ["https://127.0.0.1/hook", /loopback/],
    ["https://127.0.0.2/hook", /loopback/],
    ["https://[::1]/hook", /loopback/],
    ["https://localhost/hook", /local name/],
    ["https://LOCALHOST./hook", /local name/],
    ["https://api.localhost/hook", /local name/],
    ["https://printer.local/hook", /local name/],
    ["https://intranet/hook", /local name/],
    ["https://2130706433/hook", /non-canonical form \(it means 127\.0\.0\.1\)/],
    ["https://0x7f000001/hook", /non-canonical form \(it means 127\.0\.0\.1\)/],
    ["https://0177.0.0.1/hook", /non-canonical form \(it means 127\.0\.0\.1\)/],
    ["https://127.1/hook", /non-canonical form \(it means 127\.0\.0\.1\)/],
    ["https://%31%32%37.0.0.1/hook", /non-canonical form/],
    ["https://0/hook", /non-canonical form \(it means 0\.0\.0\.0\)/],
    ["https://[::ffff:127.0.0.1]/hook", /embeds 127\.0\.0\.1.*loopback/],
    ["https://[64:ff9b::a00:1]/hook", /embeds 10\.0\.0\.1.*private/],
    ["https://169.254.169.254/latest/meta-data/", /cloud metadata/],
    ["https://[fd00:ec2::254]/latest/meta-data/", /cloud metadata/],
    ["https://10.1.2.3/hook", /private/],
    ["https://172.20.0.1/hook", /private/],
    ["https://192.168.0.10/hook", /private/],
    ["https://100.64.1.1/hook", /carrier-grade NAT/],
    ["https://224.0.0.251/hook", /multicast/],
    ["https://0.0.0.0/hook", /unspecified/],
    ["https://[::]/hook", /unspecified/],
    ["https://255.255.255.255/hook", /broadcast/],
    ["https://[fc00::1]/hook", /unique local/],
    ["https://[fe80::1]/hook", /link-local/],
    ["http://93.184.216.34/hook", /must use https/],
    ["ftp://93.184.216.34/hook", /must use https/],
    ["https://user:pw@93.184.216.34/hook", /credentials/],
    ["https:93.184.216.34/hook", /form https:\/\/host/],
    ["not a url", /absolute URL/],
  ])("refuses %s without resolving anything", async (url, reason) => {
    const resolve = stubResolver({});
    await expect(checkWebhookUrl(url, noAllowlist, resolve)).rejects.toThrow(reason);
    expect(resolve.asked).toEqual([]);
  });

  it("refuses names that resolve to a refused address, even when only one answer is", async () => {
    const resolve = stubResolver({
      "loop.example.com": ["127.0.0.1"],
      "v6loop.example.com": ["::1"],
      "meta.example.com": ["169.254.169.254"],
      "mixed.example.com": ["93.184.216.34", "10.0.0.7"],
      "mapped.example.com": ["::ffff:192.168.1.1"],
    });
    for (const [host, reason] of [
      ["loop.example.com", /resolves to 127\.0\.0\.1: .*loopback/],
      ["v6loop.example.com", /resolves to ::1: .*loopback/],
      ["meta.example.com", /cloud metadata/],
      ["mixed.example.com", /resolves to 10\.0\.0\.7: .*private/],
      ["mapped.example.com", /embeds 192\.168\.1\.1/],
    ] as const) {
      await expect(checkWebhookUrl(`https://${host}/hook`, noAllowlist, resolve)).rejects.toThrow(reason);
    }
    await expect(checkWebhookUrl("https://nowhere.example.com/", noAllowlist, resolve)).rejects.toThrow(
      /does not resolve/,
    );
  });

  it("accepts public https URLs (resolved, never connected: the stub's answers are not dialled)", async () => {
    const resolve = stubResolver({ "hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"] });
    const url = await checkWebhookUrl("https://hooks.example.com:8443/in?x=1", noAllowlist, resolve);
    expect(url.href).toBe("https://hooks.example.com:8443/in?x=1");
    expect(resolve.asked).toEqual(["hooks.example.com"]);
    await expect(checkWebhookUrl("https://93.184.216.34/x", noAllowlist, resolve)).resolves.toBeInstanceOf(
      URL,
    );
  });

  it("with 127.0.0.1/32 allow-listed: accepts 127.0.0.1 and refuses every other loopback form", async () => {
    const resolve = stubResolver({ "loop.example.com": ["127.0.0.2"], "ok.example.com": ["127.0.0.1"] });
    await expect(
      checkWebhookUrl("http://127.0.0.1:4000/hook", loopbackOnly, resolve),
    ).resolves.toBeInstanceOf(URL);
    await expect(
      checkWebhookUrl("https://ok.example.com/hook", loopbackOnly, resolve),
    ).resolves.toBeInstanceOf(URL);
    for (const url of [
      "http://127.0.0.2:4000/hook",
      "http://[::1]:4000/hook",
      "http://localhost:4000/hook",
      "http://0x7f000001:4000/hook",
      "http://2130706433:4000/hook",
      "http://[::ffff:127.0.0.1]:4000/hook",
      "https://loop.example.com/hook",
    ]) {
      await expect(checkWebhookUrl(url, loopbackOnly, resolve), url).rejects.toBeInstanceOf(
        WebhookUrlRefused,
      );
    }
  });

  it("allow-lists host names exactly, and rejects a malformed CIDR", async () => {
    const policy = { allowHttp: false, allowlist: parseAllowlist(["hooks.internal.example", " "]) };
    const resolve = stubResolver({});
    await expect(
      checkWebhookUrl("https://hooks.internal.example/x", policy, resolve),
    ).resolves.toBeInstanceOf(URL);
    await expect(checkWebhookUrl("https://other.internal.example/x", policy, resolve)).rejects.toThrow(
      /does not resolve/,
    );
    expect(() => parseAllowlist(["10.0.0.0/33"])).toThrow(/not a CIDR/);
    expect(parseAllowlist([]).entries).toEqual([]);
  });
});

describe("guardedAgent: delivery connects only where the guard allows", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  /** A loopback receiver on `host` that answers `status` and counts requests. */
  async function receiver(host: string, status = 200, headers: Record<string, string> = {}) {
    const hits: string[] = [];
    const ports: number[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url!);
      ports.push(req.socket.remotePort!);
      res.writeHead(status, headers).end("ok");
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, host, r));
    return { port: (server.address() as AddressInfo).port, hits, ports };
  }

  /** A DNS stand-in for the agent: every name maps to a loopback address of the test's choosing. */
  const lookupTo = (table: Record<string, string>) =>
    ((host: string, _opts: unknown, cb: (e: Error | null, a: LookupAddress[]) => void) => {
      const address = table[host];
      if (!address) return cb(Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" }), []);
      cb(null, [{ address, family: address.includes(":") ? 6 : 4 }]);
    }) as never;

  it("delivers to an allow-listed 127.0.0.1 receiver, and does not follow a redirect", async () => {
    const target = await receiver("127.0.0.1");
    const redirecting = await receiver("127.0.0.1", 302, {
      location: `http://127.0.0.1:${target.port}/moved`,
    });
    const agent = guardedAgent({ policy: loopbackOnly, connectTimeoutMs: 2_000 });
    const ok = await request(`http://127.0.0.1:${target.port}/hook`, { method: "POST", dispatcher: agent });
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
    const moved = await request(`http://127.0.0.1:${redirecting.port}/hook`, {
      method: "POST",
      dispatcher: agent,
    });
    expect(moved.statusCode).toBe(302);
    await moved.body.text();
    expect(target.hits).toEqual(["/hook"]);
    // Every attempt dials anew (and so is checked anew): no kept-alive connection is reused.
    const again = await request(`http://127.0.0.1:${target.port}/hook`, {
      method: "POST",
      dispatcher: agent,
    });
    await again.body.text();
    expect(target.ports).toHaveLength(2);
    expect(target.ports[1]).not.toBe(target.ports[0]);
    await agent.close();
  });

  it("refuses a peer address that is not allowed even for an IP-literal URL (127.0.0.2 listening)", async () => {
    const other = await receiver("127.0.0.2");
    const agent = guardedAgent({ policy: loopbackOnly, connectTimeoutMs: 2_000 });
    await expect(
      request(`http://127.0.0.2:${other.port}/hook`, { method: "POST", dispatcher: agent }),
    ).rejects.toThrow(/127\.0\.0\.2.*loopback/);
    expect(other.hits).toEqual([]);
    await agent.close();
  });

  it("refuses a name that rebinds to a refused address at delivery time", async () => {
    const target = await receiver("127.0.0.1");
    // Registration saw 127.0.0.1 (allowed); at delivery the same name answers ::1 or 127.0.0.2.
    const resolve = stubResolver({ "rebind.example.com": ["127.0.0.1"] });
    await checkWebhookUrl(`http://rebind.example.com:${target.port}/hook`, loopbackOnly, resolve);
    for (const later of ["127.0.0.2", "::1"]) {
      const agent = guardedAgent({
        policy: loopbackOnly,
        connectTimeoutMs: 2_000,
        lookup: lookupTo({ "rebind.example.com": later }),
      });
      await expect(
        request(`http://rebind.example.com:${target.port}/hook`, { method: "POST", dispatcher: agent }),
      ).rejects.toThrow(/resolves to .*loopback/);
      await agent.close();
    }
    expect(target.hits).toEqual([]);
    const agent = guardedAgent({
      policy: loopbackOnly,
      connectTimeoutMs: 2_000,
      lookup: lookupTo({ "rebind.example.com": "127.0.0.1" }),
    });
    const res = await request(`http://rebind.example.com:${target.port}/hook`, {
      method: "POST",
      dispatcher: agent,
    });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(target.hits).toEqual(["/hook"]);
    await agent.close();
  });
});
