/**
 * Which IP addresses a webhook may reach: public unicast only, unless an operator
 * allow-listed the address (a CIDR) or the host name. Pure functions over ipaddr.js, which
 * knows the IANA special-purpose ranges; we add what it cannot know (cloud metadata names,
 * IPv4 addresses embedded in IPv6 forms).
 */
import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Cloud metadata services: named in the refusal so an operator sees why at once. */
const METADATA = new Set(["169.254.169.254", "fd00:ec2::254", "100.100.100.200"]);

/**
 * Why `ip` must not be reached, or null when it is a public unicast address. Embedded IPv4
 * (IPv4-mapped, NAT64 64:ff9b::/96, 6to4, IPv4-compatible) is judged as the IPv4 it carries:
 * `::ffff:127.0.0.1` is loopback, `64:ff9b::10.0.0.1` is private.
 */
export function refusalReason(ip: string): string | null {
  let address: Address;
  try {
    address = ipaddr.parse(ip.replace(/^\[|\]$/g, "").replace(/%.*$/, ""));
  } catch {
    return `\`${ip}\` is not an IP address`;
  }
  return judge(address);
}

function judge(address: Address): string | null {
  const text = address.toString();
  if (METADATA.has(text)) return `${text} is a cloud metadata address`;
  if (address.kind() === "ipv4") {
    const range = address.range();
    return range === "unicast" ? null : `${text} is a ${describe(range)} address`;
  }
  const v6 = address as ipaddr.IPv6;
  const embedded = embeddedIPv4(v6);
  if (embedded) {
    const reason = judge(embedded);
    return reason ? `${text} embeds ${embedded.toString()}, and ${reason}` : null;
  }
  const range = v6.range();
  return range === "unicast" ? null : `${text} is a ${describe(range)} address`;
}

/** The IPv4 address an IPv6 form carries (mapped, translated, NAT64, 6to4, compatible), if any. */
function embeddedIPv4(v6: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const p = v6.parts;
  const last32 = () => new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
  const range = v6.range();
  if (range === "ipv4Mapped" || range === "rfc6145") return last32();
  // 64:ff9b::/96 (well-known NAT64): the last 32 bits. 64:ff9b:1::/48 is local-use: refused as a range.
  if (p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)) return last32();
  // 6to4 (2002::/16): bits 16–48 are the IPv4 address of the relay.
  if (range === "6to4") return new ipaddr.IPv4([p[1]! >> 8, p[1]! & 0xff, p[2]! >> 8, p[2]! & 0xff]);
  // Deprecated IPv4-compatible ::a.b.c.d (but not :: and ::1, which are judged as IPv6).
  if (p.slice(0, 6).every((x) => x === 0) && (p[6]! !== 0 || p[7]! > 1)) return last32();
  return undefined;
}

const NAMES: Record<string, string> = {
  unspecified: "unspecified",
  broadcast: "broadcast",
  multicast: "multicast",
  linkLocal: "link-local",
  loopback: "loopback",
  carrierGradeNat: "carrier-grade NAT (100.64.0.0/10)",
  private: "private",
  uniqueLocal: "unique local (fc00::/7)",
  rfc6052: "NAT64 local-use",
  teredo: "Teredo",
  reserved: "reserved",
};

function describe(range: string): string {
  return NAMES[range] ?? `special-purpose (${range})`;
}

/** Operator exceptions: exact host names and CIDR ranges (`127.0.0.1/32`, `10.1.0.0/16`). */
export interface Allowlist {
  allowsHost(host: string): boolean;
  allowsAddress(ip: string): boolean;
  readonly entries: readonly string[];
}

/**
 * Parses allow-list entries (config `webhooks.allowlist`, or `GONKA_WEBHOOK_ALLOWLIST`
 * comma-separated). A bare IP means that one address; anything else that is not a CIDR is a
 * host name. Throws on a malformed CIDR so a typo does not silently allow nothing (or all).
 */
export function parseAllowlist(entries: readonly string[]): Allowlist {
  const cidrs: [Address, number][] = [];
  const hosts = new Set<string>();
  const list = entries.map((e) => e.trim()).filter((e) => e.length > 0);
  for (const entry of list) {
    if (entry.includes("/")) {
      try {
        cidrs.push(ipaddr.parseCIDR(entry));
      } catch {
        throw new Error(`webhooks.allowlist: \`${entry}\` is not a CIDR range such as 127.0.0.1/32`);
      }
    } else if (ipaddr.isValid(entry.replace(/^\[|\]$/g, ""))) {
      const a = ipaddr.parse(entry.replace(/^\[|\]$/g, ""));
      cidrs.push([a, a.kind() === "ipv4" ? 32 : 128]);
    } else {
      hosts.add(entry.toLowerCase().replace(/\.$/, ""));
    }
  }
  return {
    entries: list,
    allowsHost: (host) => hosts.has(host.toLowerCase().replace(/\.$/, "")),
    allowsAddress(ip) {
      let a: Address;
      try {
        a = ipaddr.parse(ip.replace(/^\[|\]$/g, "").replace(/%.*$/, ""));
      } catch {
        return false;
      }
      // Families are not mixed: `127.0.0.1/32` does not allow `::ffff:127.0.0.1` (allow-list
      // the IPv6 form if that is meant). Sockets to IPv4 peers report the IPv4 form.
      return cidrs.some(([range, bits]) => range.kind() === a.kind() && a.match(range, bits));
    },
  };
}
