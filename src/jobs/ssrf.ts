/**
 * The server-side request forgery guard of job webhooks: a webhook URL is a request the server makes on a
 * client's behalf, so its host must not lead into the server's own network (loopback, private and link-local
 * ranges, the cloud metadata address 169.254.169.254, CGNAT, unique-local IPv6, multicast, and the same behind
 * IPv4-mapped, NAT64 or 6to4 IPv6 forms). A host name is resolved (A and AAAA) and refused if any address is in
 * a refused range: the system resolver may pick any of them. Operators permit an internal range with
 * WEBHOOK_ALLOWED_CIDRS. The check runs at upload (a 400) and again before every delivery attempt, since a
 * name's records can change in between (DNS rebinding).
 */
import { type Cidr, inRanges, parseCidr, parseIp } from "../cidr.ts";
import { ApiError } from "../errors.ts";

/** One refused range and what it is (named in the refusal). */
interface Refused {
  range: Cidr;
  text: string;
  name: string;
}

function refused(text: string, name: string): Refused {
  return { range: parseCidr(text), text, name };
}

/**
 * The refused ranges, most specific first within a family (the first match names the refusal). IPv4-mapped
 * (`::ffff:0:0/96`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`) addresses are checked by the IPv4 they carry.
 */
export const REFUSED_RANGES: readonly Refused[] = Object.freeze([
  refused("0.0.0.0/8", "unspecified ('this network') address"),
  refused("10.0.0.0/8", "private (RFC 1918) address"),
  refused("100.64.0.0/10", "carrier-grade NAT (RFC 6598) address"),
  refused("127.0.0.0/8", "loopback address"),
  refused("169.254.0.0/16", "link-local address (cloud metadata lives here)"),
  refused("172.16.0.0/12", "private (RFC 1918) address"),
  refused("192.0.0.0/24", "IETF protocol assignment address"),
  refused("192.168.0.0/16", "private (RFC 1918) address"),
  refused("198.18.0.0/15", "benchmarking (RFC 2544) address"),
  refused("224.0.0.0/4", "multicast address"),
  refused("240.0.0.0/4", "reserved or broadcast address"),
  refused("::/128", "unspecified address"),
  refused("::1/128", "loopback address"),
  refused("::/96", "IPv4-compatible (deprecated) address"),
  refused("2001::/32", "Teredo tunnel address"),
  refused("fc00::/7", "unique-local (fc00::/7) address"),
  refused("fe80::/10", "link-local address"),
  refused("fec0::/10", "site-local (deprecated) address"),
  refused("ff00::/8", "multicast address"),
]);

/** IPv6 prefixes that carry an IPv4 address, and where it sits (bits from the right). */
const EMBEDDING: readonly { range: Cidr; shift: bigint }[] = [
  { range: parseCidr("::ffff:0:0/96"), shift: 0n },
  { range: parseCidr("64:ff9b::/96"), shift: 0n },
  { range: parseCidr("2002::/16"), shift: 80n },
];

function dotted(bits: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 255n)).join(".");
}

/** The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4), as dotted text; undefined for others. */
export function embeddedIpv4(address: string): string | undefined {
  const ip = parseIp(address);
  if (!ip?.v6) return undefined;
  const hit = EMBEDDING.find((e) => (ip.bits >> BigInt(128 - e.range.prefix)) === e.range.bits);
  return hit ? dotted((ip.bits >> hit.shift) & 0xffffffffn) : undefined;
}

/**
 * Why `address` may not be called, or undefined when it may: an address in `allowed` (checked as given and
 * as the IPv4 it carries) may; else one in a refused range, or that is no IP address, may not.
 */
export function addressRefusal(address: string, allowed: readonly Cidr[] = []): string | undefined {
  const v4 = embeddedIpv4(address);
  if (inRanges(address, allowed) || (v4 !== undefined && inRanges(v4, allowed))) return undefined;
  if (!parseIp(address)) return "not an IP address";
  const hit = REFUSED_RANGES.find((r) => inRanges(v4 ?? address, [r.range]));
  if (!hit) return undefined;
  return v4 === undefined
    ? `a ${hit.name} (${hit.text})`
    : `IPv4 ${v4} inside it, a ${hit.name} (${hit.text})`;
}

/** Resolves a host name to its addresses (A and AAAA); the default is `Deno.resolveDns`. */
export type Resolver = (host: string, signal: AbortSignal) => Promise<string[]>;

/** Both record types; a type without records is no error (a host may have only one of them). */
export const resolveDns: Resolver = async (host, signal) => {
  const one = (type: "A" | "AAAA") =>
    Deno.resolveDns(host, type, { signal }).catch((err) => {
      if (err instanceof Deno.errors.NotFound) return [] as string[];
      throw err;
    });
  const [a, aaaa] = await Promise.all([one("A"), one("AAAA")]);
  return [...a, ...aaaa];
};

/** How a target is checked: the permitted ranges, the resolver, the longest wait for it. */
export interface TargetOptions {
  allowed?: readonly Cidr[];
  resolve?: Resolver;
  resolveTimeoutMs?: number;
}

/** A refused target: the URL's host, the address that was refused (absent: none resolved), and why. */
export interface TargetRefusal {
  host: string;
  address?: string;
  reason: string;
  /** True when the host did not resolve (may be transient), false when an address is in a refused range. */
  unresolved: boolean;
}

/** Checks the host of `url` (a parsed http(s) URL): its literal address or every address it resolves to. */
export async function checkTarget(url: URL, o: TargetOptions = {}): Promise<TargetRefusal | undefined> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const allowed = o.allowed ?? [];
  if (parseIp(host)) {
    const reason = addressRefusal(host, allowed);
    return reason ? { host, address: host, reason, unresolved: false } : undefined;
  }
  let addresses: string[];
  try {
    addresses = await (o.resolve ?? resolveDns)(
      host.replace(/\.$/, ""),
      AbortSignal.timeout(o.resolveTimeoutMs ?? 5000),
    );
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { host, reason: `it does not resolve (${why})`, unresolved: true };
  }
  if (!addresses.length) return { host, reason: "it has no A or AAAA record", unresolved: true };
  for (const address of addresses) {
    const reason = addressRefusal(address, allowed);
    if (reason) return { host, address, reason, unresolved: false };
  }
  return undefined;
}

/** The refusal as one line: `host "x" resolves to 10.0.0.1, a private (RFC 1918) address (10.0.0.0/8)`. */
export function describeRefusal(r: TargetRefusal): string {
  if (r.address === undefined) return `host "${r.host}": ${r.reason}`;
  if (r.address === r.host) return `address ${r.host} is ${r.reason}`;
  return `host "${r.host}" resolves to ${r.address}, ${r.reason}`;
}

/**
 * The upload-time check: throws 400 `webhook_refused` (`Cannot accept webhook: ...` naming the host and
 * address, and how an operator permits a range) when `url`'s host may not be called.
 */
export async function assertWebhookTarget(url: string, o: TargetOptions = {}): Promise<void> {
  const refusal = await checkTarget(new URL(url), o);
  if (!refusal) return;
  const line = describeRefusal(refusal);
  throw new ApiError(
    "webhook_refused",
    `Cannot accept webhook: ${line}` +
      (refusal.unresolved ? "" : " (an operator can permit a range with WEBHOOK_ALLOWED_CIDRS)"),
    { issues: [{ path: "webhook", message: line }] },
  );
}
