import assert from "node:assert/strict";
import { clientAddress, inRanges, parseCidr, parseIp } from "../../src/cidr.ts";
import { loadConfig } from "../../src/config.ts";

Deno.test("CIDR ranges: IPv4, IPv6, IPv4-mapped, bare addresses; invalid ones are refused by name", () => {
  const ranges = ["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"].map(parseCidr);
  assert.ok(inRanges("10.200.3.4", ranges));
  assert.ok(inRanges("::ffff:10.0.0.1", ranges));
  assert.ok(inRanges("192.168.1.7", ranges));
  assert.ok(!inRanges("192.168.1.8", ranges));
  assert.ok(inRanges("fd12:3456::1", ranges));
  assert.ok(inRanges("::1", ranges));
  assert.ok(!inRanges("fe80::1", ranges));
  assert.ok(!inRanges("not-an-ip", ranges));
  assert.equal(parseIp("1.2.3.256"), undefined);
  assert.equal(parseIp("1::2::3"), undefined);
  for (const bad of ["10.0.0.0/33", "fd00::/129", "example.com", "10.0.0.0/8/1"]) {
    assert.throws(() => parseCidr(bad), /Cannot parse CIDR/);
  }
  assert.throws(() => loadConfig({ TRUSTED_PROXIES: "10.0.0.0/8,nope" }), /TRUSTED_PROXIES.*"nope"/);
  assert.equal(loadConfig({ TRUSTED_PROXIES: "127.0.0.1/32" }).trustedProxies.length, 1);
});

Deno.test("client address: the peer unless trusted; then the right-most untrusted X-Forwarded-For hop", () => {
  const trusted = [parseCidr("127.0.0.1/32"), parseCidr("10.0.0.0/8")];
  assert.equal(clientAddress("203.0.113.9", "1.1.1.1", trusted), "203.0.113.9");
  assert.equal(clientAddress("127.0.0.1", "1.1.1.1, 2.2.2.2", trusted), "2.2.2.2");
  assert.equal(clientAddress("127.0.0.1", "1.1.1.1, 2.2.2.2, 10.0.0.5", trusted), "2.2.2.2");
  assert.equal(clientAddress("127.0.0.1", "10.0.0.5", trusted), "10.0.0.5");
  assert.equal(clientAddress("127.0.0.1", "garbage, 10.0.0.5", trusted), "10.0.0.5");
  assert.equal(clientAddress("127.0.0.1", undefined, trusted), "127.0.0.1");
  assert.equal(clientAddress("127.0.0.1", "1.1.1.1", []), "127.0.0.1");
});
