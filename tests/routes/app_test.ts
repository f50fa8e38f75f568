/** The app without a server: `app.request(...)` against createApp, with and without a loaded registry. */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createApp, ENDPOINTS } from "../../routes/app.ts";
import type { ServerState } from "../../routes/context.ts";
import { isGuarded } from "../../routes/endpoint.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";
import { createMetrics } from "../../src/metrics.ts";
import { loadRegistry } from "../../src/registry.ts";
import { solidPng, writeTinyModel } from "../api/fixtures.ts";

function appWith(env: Record<string, string> = {}, state: ServerState = { draining: false, inFlight: 0 }) {
  return createApp({
    config: loadConfig({ LOG_LEVEL: "error", ...env }),
    state,
    logger: createLogger({ level: "error" }),
    metrics: createMetrics(),
  });
}

/** A concrete path for an OpenAPI path (`{id}` -> `x`). */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, "x");

Deno.test("loading: probes answer, everything behind the registry is 503 not_ready with Retry-After", async () => {
  const app = appWith();
  assert.equal((await app.request("/healthz")).status, 200);
  assert.deepEqual(await (await app.request("/healthz")).json(), { status: "loading" });
  assert.equal((await app.request("/readyz")).status, 503);
  const res = await app.request("/v1/models");
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "2");
  assert.equal((await res.json()).code, "not_ready");
  assert.match(res.headers.get("x-request-id") ?? "", /^[\w-]{36}$/);
});

Deno.test("every route that documents a 401 is behind the key, and only those", async () => {
  const app = appWith({ API_KEYS: "k" });
  for (const { route } of ENDPOINTS) {
    const res = await app.request(concrete(route.path), { method: route.method.toUpperCase() });
    await res.body?.cancel();
    assert.equal(
      res.status === 401,
      isGuarded(route),
      `${route.method} ${route.path} answered ${res.status}`,
    );
    if (res.status === 401) assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
  }
  const ok = await app.request("/v1/models", { headers: { authorization: "Bearer k" } });
  assert.equal(ok.status, 503, "past the key, the registry is still loading");
});

Deno.test("wrong methods on known paths are 405 with Allow; unknown paths 404; wrong media type 415", async () => {
  const app = appWith();
  const get = await app.request("/v1/expressions");
  assert.deepEqual([get.status, get.headers.get("allow")], [405, "POST"]);
  assert.equal((await get.json()).code, "method_not_allowed");
  for (const path of ["/healthz", "/v1/models/x", "/v2/models/x/ready", "/docs", "/"]) {
    const res = await app.request(path, { method: "POST" });
    assert.deepEqual([res.status, res.headers.get("allow")], [405, "GET, HEAD"], path);
  }
  const missing = await app.request("/nope");
  assert.deepEqual([missing.status, (await missing.json()).code], [404, "not_found"]);
  const text = await app.request("/v1/videos/frames", {
    method: "POST",
    body: "hello",
    headers: { "content-type": "text/plain" },
  });
  assert.equal(text.status, 415);
  assert.match((await text.json()).detail, /unsupported content type "text\/plain" \(send multipart/);
});

Deno.test("with a registry: JSON body options override the query, absent ones keep it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-app-" });
  await writeTinyModel(dir, { id: "tiny" });
  const state: ServerState = { draining: false, inFlight: 0 };
  state.registry = await loadRegistry({ modelDir: dir, maxDelayMs: 0 });
  try {
    const app = appWith({ MODEL_DIR: dir }, state);
    const image = Buffer.from(await solidPng(16, 16, [200, 40, 40])).toString("base64");
    // detect=true in the query would need a face detector (503); the body's detect=false wins.
    const res = await app.request("/v1/expressions?detect=true&model=tiny", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ image, detect: false }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.model.id, "tiny");
    assert.equal(body.faces.length, 1);
    const bad = await app.request("/v1/expressions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).code, "invalid_request");
  } finally {
    await state.registry.close();
    await Deno.remove(dir, { recursive: true });
  }
});
