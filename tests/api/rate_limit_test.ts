/**
 * The rate limit keys on the socket address unless the peer is a trusted proxy (TRUSTED_PROXIES): a client that
 * sends a new `X-Forwarded-For` value with every request is limited all the same, and behind a trusted proxy
 * only the address that proxy appended counts. Against the real server on loopback (the peer is 127.0.0.1).
 */
import assert from "node:assert/strict";
import { solidPng, startLoopbackServer, tinyModelDir } from "./fixtures.ts";

const LIMIT = 3;

async function statuses(base: string, forwardedFor: (i: number) => string, n: number): Promise<number[]> {
  const png = await solidPng(32, 32, [20, 90, 160]);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${base}/v1/expressions?detect=false`, {
      method: "POST",
      body: png,
      headers: { "content-type": "image/png", "x-forwarded-for": forwardedFor(i) },
    });
    await r.body?.cancel();
    out.push(r.status);
  }
  return out;
}

async function withServer(env: Record<string, string>, f: (base: string) => Promise<void>): Promise<void> {
  const dir = await tinyModelDir("fer-ratelimit-");
  const server = startLoopbackServer(dir, {
    DEFAULT_MODEL: "tiny",
    RATE_LIMIT_PER_MIN: String(LIMIT),
    ...env,
  });
  try {
    await server.ready;
    await f(`http://127.0.0.1:${server.port}`);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

const ok = Array(LIMIT).fill(200);
const limited = Array(3).fill(429);

Deno.test("without TRUSTED_PROXIES a new X-Forwarded-For per request does not escape the limit", async () => {
  await withServer({}, async (base) => {
    assert.deepEqual(await statuses(base, (i) => `198.51.100.${i + 1}`, LIMIT + 3), [...ok, ...limited]);
  });
});

Deno.test("behind a trusted proxy the address it appended is the client; entries left of it are ignored", async () => {
  await withServer({ TRUSTED_PROXIES: "127.0.0.1/32, 10.0.0.0/8" }, async (base) => {
    // Distinct clients seen by the proxy: each has its own bucket.
    assert.deepEqual(
      await statuses(base, (i) => `203.0.113.${i + 1}`, LIMIT + 3),
      Array(LIMIT + 3).fill(200),
    );
    // One client spoofing the left part through two trusted hops (10.1.2.3 is one of them): still one bucket.
    assert.deepEqual(
      await statuses(base, (i) => `192.0.2.${i + 1}, 198.51.100.77, 10.1.2.3`, LIMIT + 3),
      [...ok, ...limited],
    );
  });
});
