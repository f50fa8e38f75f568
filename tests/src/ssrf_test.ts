/**
 * The webhook SSRF guard of src/jobs/ssrf.ts and src/jobs/webhook.ts without a server: which addresses are
 * refused (IPv4, IPv6, IPv4 inside IPv6), the allow-list, host names through a given resolver, and a delivery
 * whose host has rebound to loopback since the upload: refused, recorded and reported, never fetched (a real
 * receiver on loopback counts its requests).
 */
import assert from "node:assert/strict";
import { parseCidr } from "../../src/cidr.ts";
import { ApiError } from "../../src/errors.ts";
import {
  addressRefusal,
  assertWebhookTarget,
  checkTarget,
  embeddedIpv4,
  type Resolver,
} from "../../src/jobs/ssrf.ts";
import { deliverWebhook, type WebhookAttempt } from "../../src/jobs/webhook.ts";

const REFUSED: [string, RegExp][] = [
  ["127.0.0.1", /loopback/],
  ["127.255.0.9", /loopback/],
  ["10.1.2.3", /private/],
  ["172.16.0.1", /private/],
  ["172.31.255.255", /private/],
  ["192.168.1.1", /private/],
  ["169.254.169.254", /link-local.*metadata/],
  ["100.64.0.1", /carrier-grade NAT/],
  ["100.127.255.255", /carrier-grade NAT/],
  ["0.0.0.0", /unspecified/],
  ["224.0.0.1", /multicast/],
  ["239.255.255.250", /multicast/],
  ["255.255.255.255", /broadcast/],
  ["::1", /loopback/],
  ["::", /unspecified/],
  ["fc00::1", /unique-local/],
  ["fd12:3456::1", /unique-local/],
  ["fe80::1%eth0", /link-local/],
  ["ff02::1", /multicast/],
  ["::ffff:127.0.0.1", /loopback/],
  ["::ffff:7f00:1", /IPv4 127\.0\.0\.1 inside it, a loopback/],
  ["::ffff:a9fe:a9fe", /IPv4 169\.254\.169\.254 inside it/],
  ["64:ff9b::a00:1", /IPv4 10\.0\.0\.1 inside it, a private/],
  ["2002:c0a8:101::1", /IPv4 192\.168\.1\.1 inside it/],
  ["::7f00:1", /IPv4-compatible/],
  ["[::1]", /loopback/],
];

const PUBLIC = [
  "8.8.8.8",
  "1.1.1.1",
  "100.63.255.255",
  "100.128.0.0",
  "172.15.255.255",
  "172.32.0.0",
  "2606:4700::1111",
  "::ffff:8.8.8.8",
  "64:ff9b::808:808",
];

Deno.test("addressRefusal: internal ranges refused (IPv4, IPv6, IPv4 inside IPv6), public ones not", () => {
  for (const [address, why] of REFUSED) {
    const reason = addressRefusal(address);
    assert.ok(reason, `${address} should be refused`);
    assert.match(reason, why, address);
  }
  for (const address of PUBLIC) assert.equal(addressRefusal(address), undefined, address);
  assert.equal(addressRefusal("example.com"), "not an IP address");
  assert.equal(embeddedIpv4("::ffff:7f00:1"), "127.0.0.1");
  assert.equal(embeddedIpv4("2001:db8::1"), undefined);
});

Deno.test("addressRefusal: WEBHOOK_ALLOWED_CIDRS permits a range, also written as IPv4-mapped", () => {
  const allowed = [parseCidr("127.0.0.1/32"), parseCidr("10.20.0.0/16")];
  assert.equal(addressRefusal("127.0.0.1", allowed), undefined);
  assert.equal(addressRefusal("::ffff:7f00:1", allowed), undefined);
  assert.equal(addressRefusal("10.20.9.9", allowed), undefined);
  assert.match(addressRefusal("127.0.0.2", allowed)!, /loopback/);
  assert.match(addressRefusal("10.21.0.1", allowed)!, /private/);
  assert.match(addressRefusal("::1", allowed)!, /loopback/);
});

Deno.test("checkTarget: URL literals (normalised by URL), names through the resolver, any bad record refuses", async () => {
  const zone: Record<string, string[]> = {
    "public.test": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "mixed.test": ["93.184.215.14", "10.0.0.7"],
    "metadata.test": ["169.254.169.254"],
    "empty.test": [],
  };
  const resolve: Resolver = (host) =>
    host in zone ? Promise.resolve(zone[host]) : Promise.reject(new Error(`no such host ${host}`));
  const check = (url: string) => checkTarget(new URL(url), { resolve });
  assert.equal(await check("https://public.test/hook"), undefined);
  assert.equal(await check("https://93.184.215.14:8443/hook"), undefined);
  // The URL parser turns decimal, hex and short IPv4 forms into dotted ones before the check.
  for (const url of ["http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://[::ffff:127.0.0.1]/"]) {
    const r = await check(url);
    assert.equal(r?.unresolved, false, url);
    assert.match(r!.reason, /loopback/, url);
  }
  const mixed = await check("https://mixed.test/");
  assert.deepEqual([mixed?.host, mixed?.address], ["mixed.test", "10.0.0.7"]);
  assert.match((await check("http://metadata.test./latest"))!.reason, /link-local/);
  assert.equal((await check("https://empty.test/"))?.unresolved, true);
  assert.equal((await check("https://nowhere.test/"))?.unresolved, true);
});

Deno.test("assertWebhookTarget: 400 webhook_refused naming host and address; the real resolver knows localhost", async () => {
  await assert.rejects(
    () => assertWebhookTarget("http://localhost:9/hook"),
    (e) =>
      e instanceof ApiError && e.code === "webhook_refused" && e.status === 400 &&
      /^Cannot accept webhook: host "localhost" resolves to (127\.0\.0\.1|::1), a loopback address/.test(
        e.message,
      ) && /WEBHOOK_ALLOWED_CIDRS/.test(e.message) && e.issues?.[0].path === "webhook",
  );
  await assert.rejects(
    () => assertWebhookTarget("http://169.254.169.254/latest/meta-data/"),
    (e) => e instanceof ApiError && /address 169\.254\.169\.254 is a link-local/.test(e.message),
  );
  await assertWebhookTarget("http://127.0.0.1:9/hook", { allowed: [parseCidr("127.0.0.1/32")] });
});

Deno.test("deliverWebhook: a host that now resolves to loopback is refused and reported, never fetched", async () => {
  let requests = 0;
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    requests++;
    return new Response(null, { status: 204 });
  });
  try {
    const port = receiver.addr.port;
    // The name passed the upload check with a public address; by delivery its record points at loopback.
    let answer = ["93.184.215.14"];
    const resolve: Resolver = () => Promise.resolve(answer);
    await assertWebhookTarget(`http://rebind.test:${port}/hook`, { resolve });
    answer = ["127.0.0.1"];
    const attempts: WebhookAttempt[] = [];
    const refusals: string[] = [];
    const base = { secret: "s", attempts: 3, backoffMs: 1, timeoutMs: 2000, event: "job.succeeded", resolve };
    const ok = await deliverWebhook(`http://rebind.test:${port}/hook`, "{}", {
      ...base,
      record: (a) => attempts.push(a),
      onRefused: (r) => refusals.push(r.address ?? ""),
    });
    assert.equal(ok, false);
    assert.equal(requests, 0);
    assert.equal(attempts.length, 1, "a refused address ends the delivery");
    assert.match(attempts[0].error!, /^refused: host "rebind\.test" resolves to 127\.0\.0\.1, a loopback/);
    assert.deepEqual(refusals, ["127.0.0.1"]);

    // The same receiver by its literal address, allowed by the operator, is delivered to.
    const delivered = await deliverWebhook(`http://127.0.0.1:${port}/hook`, "{}", {
      ...base,
      allowedCidrs: [parseCidr("127.0.0.1/32")],
      record: (a) => attempts.push(a),
    });
    assert.equal(delivered, true);
    assert.equal(requests, 1);

    // A name that stops resolving is a failed attempt, tried again (maybe transient), not a refusal.
    const gone: WebhookAttempt[] = [];
    const unresolved = await deliverWebhook(`http://gone.test:${port}/hook`, "{}", {
      ...base,
      resolve: () => Promise.reject(new Error("SERVFAIL")),
      record: (a) => gone.push(a),
      onRefused: () => refusals.push("gone"),
    });
    assert.equal(unresolved, false);
    assert.equal(gone.length, 3);
    assert.match(gone[0].error!, /does not resolve \(SERVFAIL\)/);
    assert.equal(refusals.length, 1);
  } finally {
    await receiver.shutdown();
  }
});

Deno.test("deliverWebhook: a redirect is not followed (a 3xx is an answer, retried, the target never called)", async () => {
  let inner = 0;
  const target = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    inner++;
    return new Response(null, { status: 204 });
  });
  const redirector = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => Response.redirect(`http://127.0.0.1:${target.addr.port}/internal`, 307),
  );
  try {
    const attempts: WebhookAttempt[] = [];
    const ok = await deliverWebhook(`http://127.0.0.1:${redirector.addr.port}/hook`, "{}", {
      secret: "s",
      attempts: 2,
      backoffMs: 1,
      timeoutMs: 2000,
      event: "job.succeeded",
      allowedCidrs: [parseCidr("127.0.0.1/32")],
      record: (a) => attempts.push(a),
    });
    assert.equal(ok, false);
    assert.deepEqual(attempts.map((a) => a.status), [307, 307]);
    assert.equal(inner, 0);
  } finally {
    await target.shutdown();
    await redirector.shutdown();
  }
});
