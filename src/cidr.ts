/**
 * IP addresses and CIDR ranges (IPv4 and IPv6, IPv4-mapped IPv6 read as IPv4), for TRUSTED_PROXIES: which peers
 * may tell us the client address in `X-Forwarded-For`.
 */

/** A parsed range: address family, network bits as a bigint, prefix length. */
export interface Cidr {
  v6: boolean;
  bits: bigint;
  prefix: number;
}

/** An address as a bigint with its family, or undefined when `text` is no IP address. */
export function parseIp(text: string): { v6: boolean; bits: bigint } | undefined {
  const s = text.trim().replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const v4 = s.match(/^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return { v6: false, bits: parts.reduce((a, p) => (a << 8n) | BigInt(p), 0n) };
  }
  if (!/^[0-9a-f:]+$/i.test(s) || !s.includes(":")) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const left = halves[0] ? halves[0].split(":") : [];
  const right = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - left.length - right.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return { v6: true, bits: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/** Parses `a.b.c.d/n`, `x:y::z/n` or a bare address (a /32 or /128); throws naming the text when invalid. */
export function parseCidr(text: string): Cidr {
  const [addr, len, extra] = text.trim().split("/");
  const ip = parseIp(addr);
  const max = ip?.v6 ? 128 : 32;
  const prefix = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!ip || extra !== undefined || !(prefix >= 0 && prefix <= max)) {
    throw new Error(`Cannot parse CIDR: not an address range "${text}"`);
  }
  return { v6: ip.v6, bits: ip.bits >> BigInt(max - prefix), prefix };
}

/** True when `address` lies in one of `ranges`. */
export function inRanges(address: string, ranges: readonly Cidr[]): boolean {
  const ip = parseIp(address);
  if (!ip) return false;
  return ranges.some((r) => r.v6 === ip.v6 && (ip.bits >> BigInt((r.v6 ? 128 : 32) - r.prefix)) === r.bits);
}

/**
 * The client address for a request from `peer` with `forwardedFor` (the `X-Forwarded-For` value): the peer
 * itself unless it is a trusted proxy; then, walking the list from the right (each proxy appends the address
 * it saw), the first address that is not a trusted proxy. A client cannot choose its key by sending its own
 * `X-Forwarded-For`: entries left of an untrusted one are never read.
 */
export function clientAddress(
  peer: string,
  forwardedFor: string | undefined,
  trusted: readonly Cidr[],
): string {
  if (!trusted.length || !forwardedFor || !inRanges(peer, trusted)) return peer;
  const hops = forwardedFor.split(",").map((h) => h.trim()).filter((h) => h.length > 0);
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!parseIp(hops[i])) break; // garbage from beyond the trusted hops: keep the last good address
    client = hops[i];
    if (!inRanges(client, trusted)) break;
  }
  return client;
}
