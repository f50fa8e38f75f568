/** The webhook signing, URL checks and backoff of src/jobs/webhook.ts, without a server. */
import assert from "node:assert/strict";
import { backoffDelay, checkWebhookUrl, signBody } from "../../src/jobs/webhook.ts";
import { ApiError } from "../../src/errors.ts";

Deno.test("signBody is HMAC-SHA256 as RFC 4231 test case 2 gives it, over the exact bytes", () => {
  assert.equal(
    signBody("Jefe", "what do ya want for nothing?"),
    "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  assert.equal(signBody("k", "{}"), signBody("k", new TextEncoder().encode("{}")));
  assert.notEqual(signBody("k", "{}"), signBody("k", "{ }"));
});

Deno.test("backoffDelay: none before the first attempt, then doubling", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 100)), [0, 100, 200, 400, 800]);
});

Deno.test("checkWebhookUrl: http(s) only, and a secret to sign with", () => {
  assert.equal(checkWebhookUrl("https://example.com/hook", "s"), "https://example.com/hook");
  for (const url of ["ftp://example.com/", "javascript:alert(1)", "//example.com", "hook"]) {
    assert.throws(
      () => checkWebhookUrl(url, "s"),
      (e) => e instanceof ApiError && e.code === "invalid_request",
    );
  }
  assert.throws(
    () => checkWebhookUrl("https://example.com/hook", ""),
    (e) => e instanceof ApiError && /WEBHOOK_SECRET/.test(e.message),
  );
});
