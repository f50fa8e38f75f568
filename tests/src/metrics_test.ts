import assert from "node:assert/strict";
import { createMetrics } from "../../src/metrics.ts";
import { createRateLimiter } from "../../src/ratelimit.ts";
import { createLogger } from "../../src/logger.ts";

Deno.test("createMetrics() renders counters and cumulative histograms in Prometheus text", () => {
  const m = createMetrics();
  const c = m.counter("req_total", "Requests");
  c({ route: "/a", status: "200" });
  c({ route: "/a", status: "200" });
  const h = m.histogram("lat", "Latency", [0.1, 1]);
  h(0.05);
  h(0.5);
  h(5);
  const text = m.render();
  assert.match(text, /# TYPE req_total counter\nreq_total\{route="\/a",status="200"\} 2/);
  assert.match(
    text,
    /lat_bucket\{le="0.1"\} 1\nlat_bucket\{le="1"\} 2\nlat_bucket\{le="\+Inf"\} 3\nlat_sum 5.55\nlat_count 3/,
  );
  assert.equal(m.read("req_total", { route: "/a", status: "200" }), 2);
});

Deno.test("createRateLimiter() allows perMinute then refuses with a retry time, and refills", () => {
  const l = createRateLimiter({ perMinute: 2 });
  assert.ok(l.take("k", 0).allowed);
  assert.ok(l.take("k", 0).allowed);
  const no = l.take("k", 0);
  assert.equal(no.allowed, false);
  assert.ok(Math.abs(no.retryAfterSeconds - 30) < 1e-6);
  assert.ok(l.take("other", 0).allowed);
  assert.ok(l.take("k", 30_001).allowed);
});

Deno.test("createLogger() writes JSON lines at or above the level with child fields", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", write: (l) => lines.push(l) }).child({ requestId: "r1" });
  log.debug("hidden");
  log.info("shown", { status: 200, err: new Error("boom") });
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]);
  assert.equal(j.msg, "shown");
  assert.equal(j.requestId, "r1");
  assert.equal(j.err, "boom");
});
