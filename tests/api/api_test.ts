/**
 * Integration tests: the real server (`startServer` from routes/server.ts on a loopback port) with the real face-api
 * ports and a width-reduced, untrained SCAN+CCI, called through the typed client and raw fetch. One server for
 * the file; a second app over a tiny model for the limits that need other settings (rate limit, deadline,
 * overload, not-ready).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createClient } from "../../openapi/client.ts";
import { loadConfig } from "../../src/config.ts";
import { startServer } from "../../routes/server.ts";
import { createApp } from "../../routes/app.ts";
import { createLogger } from "../../src/logger.ts";
import { createMetrics } from "../../src/metrics.ts";
import { loadRegistry } from "../../src/registry.ts";
import { decodeImage } from "../../src/image.ts";
import { apiModelDir, bombPng, demoPhoto, solidPng, writeTinyModel } from "./fixtures.ts";
import { CANONICAL_LABELS } from "../../model/spec.ts";

const KEY = "test-key-1";
const quiet = createLogger({ level: "error" });
const modelDir = await apiModelDir();
const server = startServer(
  loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    MODEL_DIR: modelDir,
    API_KEYS: `${KEY},other-key`,
    MAX_DELAY_MS: "25",
    MAX_BODY_BYTES: "3000000",
    LOG_LEVEL: "error",
  }),
  { logger: quiet, startedAt: performance.now() },
);
await server.ready;
const base = `http://127.0.0.1:${server.port}`;
const api = createClient(base, { apiKey: KEY });
const auth = { authorization: `Bearer ${KEY}` };
const photo = demoPhoto(1);
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

async function problem(res: Response, status: number, code: string) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}`);
  assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const body = await res.json();
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.ok(body.detail.length > 0);
  return body;
}

function post(path: string, body: BodyInit, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, { method: "POST", body, headers: { ...auth, ...headers } });
}

async function statusOf(p: Promise<Response>): Promise<number> {
  const res = await p;
  await res.body?.cancel();
  return res.status;
}

async function metricsText(): Promise<string> {
  return await (await fetch(`${base}/metrics`)).text();
}

function metricSum(text: string, name: string, labels = ""): number {
  return text.split("\n").filter((l) => l.startsWith(name + (labels ? `{${labels}` : "")))
    .reduce((s, l) => s + Number(l.split(" ").pop()), 0);
}

Deno.test("health, readiness and v2 metadata answer once models are warm", async () => {
  for (const path of ["/healthz", "/readyz", "/v2/health/live", "/v2/health/ready", "/v2"]) {
    const res = await fetch(`${base}${path}`, { headers: auth });
    assert.equal(res.status, 200, path);
    await res.body?.cancel();
  }
  const meta = await (await fetch(`${base}/v2/models/scan-cci`, { headers: auth })).json();
  assert.equal(meta.platform, "onnxruntime_onnx");
  assert.deepEqual(meta.inputs[0].shape, [-1, 3, 224, 224]);
  assert.ok(meta.outputs.some((o: { name: string }) => o.name === "attention_map"));
  assert.deepEqual(
    await (await fetch(`${base}/v2/models/faceapi-expression/ready`, { headers: auth })).json(),
    { name: "faceapi-expression", ready: true },
  );
  await problem(await fetch(`${base}/v2/models/nope`, { headers: auth }), 404, "not_found");
  await problem(await fetch(`${base}/no/such/path`), 404, "not_found");
  const put = await fetch(`${base}/v1/expressions`, { method: "PUT", body: "x", headers: auth });
  assert.equal(put.headers.get("allow"), "POST");
  await problem(put, 405, "method_not_allowed");
});

Deno.test("GET /v1/models lists manifests; the untrained SCAN+CCI is not the default", async () => {
  const { data, error } = await api.GET("/v1/models");
  assert.equal(error, undefined);
  assert.equal(data!.defaultModel, "faceapi-expression");
  const scan = data!.models.find((m) => m.id === "scan-cci")!;
  assert.equal(scan.trained, false);
  assert.equal(scan.attention, true);
  assert.equal(scan.default, false);
  const base = data!.models.find((m) => m.id === "faceapi-expression")!;
  assert.equal(base.trained, true);
  assert.match(base.intendedUse, /not measure inner emotional states/);
  assert.ok(base.license.length > 0);
  const one = await api.GET("/v1/models/{id}", { params: { path: { id: "scan-cci" } } });
  assert.equal(one.data!.sha256, scan.sha256);
  assert.equal((await api.GET("/v1/models/{id}", { params: { path: { id: "x" } } })).response.status, 404);
});

Deno.test("POST /v1/expressions: multipart, raw body and JSON base64 give the same faces", async () => {
  const form = new FormData();
  form.append("image", new File([photo], "sample1.jpg", { type: "image/jpeg" }));
  const multipart = await (await post("/v1/expressions", form)).json();
  const raw = await (await post("/v1/expressions", photo, { "content-type": "image/jpeg" })).json();
  const { data: json, error } = await api.POST("/v1/expressions", {
    body: { image: b64(photo) },
  });
  assert.equal(error, undefined);
  for (const r of [multipart, raw, json!]) {
    assert.deepEqual(r.model, multipart.model);
    assert.equal(r.model.id, "faceapi-expression");
    assert.equal(r.model.trained, true);
    assert.deepEqual(r.image, { width: 1920, height: 1280 });
    assert.equal(r.faces.length, multipart.faces.length);
  }
  assert.ok(multipart.faces.length >= 1, "the demo photo has faces");
  for (const f of multipart.faces) {
    assert.deepEqual(Object.keys(f.expression.scores), [...CANONICAL_LABELS]);
    const sum = Object.values(f.expression.scores as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4);
    assert.equal(
      f.expression.confidence,
      Math.max(...Object.values(f.expression.scores as Record<string, number>)),
    );
    assert.ok(f.detectionScore >= 0.5 && f.box.width > 20);
    assert.equal(f.landmarks, undefined);
  }
  assert.deepEqual(
    raw.faces.map((f: { box: unknown }) => f.box),
    multipart.faces.map((f: { box: unknown }) => f.box),
  );
  for (const k of ["decodeMs", "detectMs", "classifyMs", "totalMs"]) assert.ok(multipart.timings[k] >= 0);
});

Deno.test("POST /v1/expressions: no face -> 200 faces [], landmarks and SCAN attention on request", async () => {
  const blank = await solidPng(320, 240, [120, 130, 140]);
  const none = await (await post("/v1/expressions", blank, { "content-type": "image/png" })).json();
  assert.deepEqual(none.faces, []);
  const res = await post("/v1/expressions?model=scan-cci&attention=true&landmarks=true&maxFaces=1", photo, {
    "content-type": "image/jpeg",
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body.model.id, "scan-cci");
  assert.equal(body.model.trained, false);
  assert.equal(body.faces.length, 1);
  const face = body.faces[0];
  assert.equal(face.landmarks.points68.length, 68);
  assert.match(face.attention, /^data:image\/png;base64,/);
  const png = Buffer.from(face.attention.split(",")[1], "base64");
  const img = await decodeImage(new Uint8Array(png));
  assert.deepEqual([img.width, img.height], [224, 224]);
  const bad = await problem(
    await post("/v1/expressions?attention=true", photo, { "content-type": "image/jpeg" }),
    400,
    "invalid_request",
  );
  assert.match(bad.detail, /faceapi-expression/);
});

Deno.test("bad inputs get their problem codes, never a 500", async () => {
  const garbage = new TextEncoder().encode("this is not an image at all, just bytes");
  await problem(
    await post("/v1/expressions", garbage, { "content-type": "image/jpeg" }),
    422,
    "undecodable_image",
  );
  await problem(
    await post("/v1/expressions", photo.slice(0, 3000), { "content-type": "image/jpeg" }),
    422,
    "undecodable_image",
  );
  await problem(
    await post("/v1/expressions", await bombPng(), { "content-type": "image/png" }),
    413,
    "too_many_pixels",
  );
  await problem(
    await post("/v1/expressions", "hello", { "content-type": "text/plain" }),
    415,
    "unsupported_media_type",
  );
  await problem(
    await post("/v1/expressions", "{not json", { "content-type": "application/json" }),
    400,
    "invalid_request",
  );
  await problem(await post("/v1/expressions", new Uint8Array(0)), 400, "invalid_request");
  const big = new FormData();
  big.append("image", new File([new Uint8Array(3_500_000)], "big.jpg"));
  await problem(await post("/v1/expressions", big), 413, "payload_too_large");
  // Chunked (no Content-Length): the limit is counted on the stream.
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 40; i++) c.enqueue(new Uint8Array(100_000));
      c.close();
    },
  });
  await problem(
    await post("/v1/expressions", stream, { "content-type": "image/jpeg" }),
    413,
    "payload_too_large",
  );
  const p = await problem(
    await post("/v1/expressions?maxFaces=0&minConfidence=2", photo, { "content-type": "image/jpeg" }),
    400,
    "invalid_request",
  );
  assert.deepEqual(p.issues.map((i: { path: string }) => i.path).sort(), [
    "query.maxFaces",
    "query.minConfidence",
  ]);
  await problem(
    await post("/v1/expressions?model=nope", photo, { "content-type": "image/jpeg" }),
    400,
    "invalid_request",
  );
  const badB64 = await problem(
    await post("/v1/expressions", JSON.stringify({ image: "%%%" }), { "content-type": "application/json" }),
    400,
    "invalid_request",
  );
  assert.equal(badB64.issues[0].path, "image");
  const frames = Array.from({ length: 300 }, () => ({ image: "AAAA" }));
  await problem(
    await post("/v1/videos/frames", JSON.stringify({ frames }), { "content-type": "application/json" }),
    413,
    "too_many_frames",
  );
  await problem(
    await post("/v1/videos/frames?smoothing=median", JSON.stringify({ frames: [{ image: b64(photo) }] }), {
      "content-type": "application/json",
    }),
    400,
    "invalid_request",
  );
});

Deno.test("API keys: missing or wrong -> 401 on v1 and v2 model metadata, keys accepted; probes stay open", async () => {
  // The v2 (Open Inference Protocol) aliases expose the same metadata as /v1/models: same key.
  for (const path of ["/v2", "/v2/models/scan-cci", "/v2/models/scan-cci/ready", "/v1/models/scan-cci"]) {
    await problem(await fetch(`${base}${path}`), 401, "unauthorized");
    assert.equal(await statusOf(fetch(`${base}${path}`, { headers: { "x-api-key": KEY } })), 200, path);
  }
  for (const path of ["/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"]) {
    assert.equal(await statusOf(fetch(`${base}${path}`)), 200, path);
  }
  const unauth = await fetch(`${base}/v1/models`);
  assert.match(unauth.headers.get("www-authenticate") ?? "", /^Bearer/);
  const none = await problem(unauth, 401, "unauthorized");
  assert.ok(none.requestId);
  await problem(
    await fetch(`${base}/v1/models`, { headers: { authorization: "Bearer wrong" } }),
    401,
    "unauthorized",
  );
  assert.equal(await statusOf(fetch(`${base}/v1/models`, { headers: { "x-api-key": "other-key" } })), 200);
  assert.equal(await statusOf(fetch(`${base}/readyz`)), 200);
  const res = await fetch(`${base}/healthz`, { headers: { "x-request-id": "trace-123" } });
  assert.equal(res.headers.get("x-request-id"), "trace-123");
  await res.body?.cancel();
});

Deno.test("POST /v1/videos/frames: tracks across frames, smoothing, one batched run for detect=false", async () => {
  const form = new FormData();
  for (let i = 0; i < 3; i++) form.append("frames", new File([photo], `f${i}.jpg`, { type: "image/jpeg" }));
  form.append("timestamps", JSON.stringify([0, 0.04, 0.08]));
  const res = await post("/v1/videos/frames?smoothing=ema&alpha=0.5", form);
  assert.equal(res.status, 200);
  const video = await res.json();
  assert.equal(video.frames.length, 3);
  assert.deepEqual(video.frames.map((f: { timestamp: number }) => f.timestamp), [0, 0.04, 0.08]);
  const n = video.frames[0].faces.length;
  assert.ok(n >= 1);
  assert.equal(video.tracks.length, n, "identical frames: one track per face");
  for (const t of video.tracks) {
    assert.equal(t.framesSeen, 3);
    assert.deepEqual([t.firstFrame, t.lastFrame], [0, 2]);
    assert.deepEqual(t.segments, [[0, 2, t.dominant]]);
  }
  assert.ok(
    video.frames[2].faces.every((f: { trackId: number; smoothed: unknown }) => f.trackId >= 0 && f.smoothed),
  );

  const before = await metricsText();
  const crop = await solidPng(64, 64, [200, 120, 90]);
  const crop2 = await solidPng(64, 64, [20, 60, 220]);
  const frames = [crop, crop2, crop, crop2, crop].map((b, i) => ({ image: b64(b), timestamp: i }));
  const { data, error } = await api.POST("/v1/videos/frames", {
    body: { frames, detect: false, model: "scan-cci", smoothing: "window", window: 2 },
  });
  assert.equal(error, undefined);
  assert.equal(data!.frames.every((f) => f.faces.length === 1), true);
  assert.equal(data!.tracks.length, 1);
  assert.equal(data!.tracks[0].framesSeen, 5);
  // Frames 0 and 2 are the same crop: same scores.
  assert.deepEqual(data!.frames[0].faces[0].expression, data!.frames[2].faces[0].expression);
  const after = await metricsText();
  const runs = metricSum(after, "fer_batch_size_count", 'model="scan-cci"') -
    metricSum(before, "fer_batch_size_count", 'model="scan-cci"');
  const faces = metricSum(after, "fer_batch_size_sum", 'model="scan-cci"') -
    metricSum(before, "fer_batch_size_sum", 'model="scan-cci"');
  assert.equal(faces, 5);
  assert.equal(runs, 1, "all five frames in one model run");
});

Deno.test("concurrent requests share model runs (batches with more than one request)", async () => {
  const crop = await solidPng(64, 64, [180, 140, 120]);
  const before = await metricsText();
  const results = await Promise.all(
    Array.from(
      { length: 8 },
      () =>
        post("/v1/expressions?detect=false&model=scan-cci", crop, { "content-type": "image/png" }).then((r) =>
          r.json()
        ),
    ),
  );
  assert.ok(results.every((r) => r.faces.length === 1));
  assert.ok(results.every((r) => JSON.stringify(r.faces) === JSON.stringify(results[0].faces)));
  const after = await metricsText();
  const shared = (t: string) =>
    metricSum(t, "fer_batch_requests_count", 'model="scan-cci"') -
    metricSum(t, "fer_batch_requests_bucket", 'model="scan-cci",le="1"');
  assert.ok(shared(after) - shared(before) >= 1, "at least one run served several requests");
  assert.match(after, /fer_http_requests_total\{route="\/v1\/expressions",method="POST",status="200"\}/);
  assert.match(after, /fer_http_request_duration_seconds_bucket/);
  assert.match(after, /fer_queue_depth \d+/);
  assert.match(after, /fer_inference_seconds_count/);
});

Deno.test("OpenAPI document, offline Swagger UI and the served typed client", async () => {
  const served = await (await fetch(`${base}/openapi.json`)).json();
  assert.equal(served.openapi, "3.1.0");
  assert.ok(served.paths["/v1/expressions"].post.requestBody.required);
  const docs = await (await fetch(`${base}/docs`)).text();
  assert.match(docs, /\/vendor\/swagger-ui-dist\/swagger-ui-bundle\.js/);
  assert.doesNotMatch(docs, /cdn\.jsdelivr|unpkg/);
  const js = await fetch(`${base}/vendor/swagger-ui-dist/swagger-ui-bundle.js`);
  assert.equal(js.status, 200);
  assert.ok((await js.text()).length > 1_000_000);
  const client = await (await fetch(`${base}/v1/client.ts`)).text();
  assert.match(client, /from "npm:openapi-fetch@\d/);
  assert.doesNotMatch(client, /from "\.\//);
  assert.match(client, /export function createClient/);
});

/** A second app on a tiny model, with the settings that trigger 429, 504, 503. */
async function strictApp(env: Record<string, string>, { loaded = true, maxQueue = 2048 } = {}) {
  const dir = await Deno.makeTempDir({ prefix: "fer-api-tiny-" });
  await writeTinyModel(dir, { id: "tiny" });
  const metrics = createMetrics();
  const registry = loaded
    ? await loadRegistry({ modelDir: dir, maxQueue, maxDelayMs: 0, metrics, logger: quiet })
    : undefined;
  const config = loadConfig({ MODEL_DIR: dir, LOG_LEVEL: "error", ...env });
  const app = createApp({
    config,
    state: { registry, draining: false, inFlight: 0 },
    logger: quiet,
    metrics,
  });
  const srv = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
  return {
    url: `http://127.0.0.1:${srv.addr.port}`,
    async close() {
      await srv.shutdown();
      await registry?.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("rate limit -> 429 with Retry-After, deadline -> 504, more faces than the queue -> 413, loading -> 503", async () => {
  const png = await solidPng(32, 32, [10, 200, 10]);
  const send = (
    url: string,
    path = "/v1/expressions?detect=false",
    body: BodyInit = png,
    type = "image/png",
  ) => fetch(`${url}${path}`, { method: "POST", body, headers: { "content-type": type } });

  const limited = await strictApp({ RATE_LIMIT_PER_MIN: "2" });
  assert.equal(await statusOf(send(limited.url)), 200);
  assert.equal(await statusOf(send(limited.url)), 200);
  const r429 = await send(limited.url);
  assert.ok(Number(r429.headers.get("retry-after")) >= 1);
  await problem(r429, 429, "rate_limited");
  await limited.close();

  const slow = await strictApp({ REQUEST_TIMEOUT_MS: "1" });
  await problem(
    await send(slow.url, "/v1/expressions?detect=false", demoPhoto(2), "image/jpeg"),
    504,
    "deadline_exceeded",
  );
  await slow.close();

  // 3 faces can never fit a 2-slot queue: 413 naming the limit, not a 503 that retries for ever (the
  // retryable 503 for a queue that is only full right now is covered in tests/src/batcher_test.ts).
  const small = await strictApp({}, { maxQueue: 2 });
  const frames = JSON.stringify({ frames: [png, png, png].map((b) => ({ image: b64(b) })), detect: false });
  const r413 = await send(small.url, "/v1/videos/frames", frames, "application/json");
  assert.equal(r413.headers.get("retry-after"), null);
  assert.match((await problem(r413, 413, "payload_too_large")).detail, /MAX_QUEUE=2/);
  await small.close();

  const loading = await strictApp({}, { loaded: false });
  assert.equal(await statusOf(fetch(`${loading.url}/readyz`)), 503);
  assert.equal(await statusOf(fetch(`${loading.url}/healthz`)), 200);
  await problem(await send(loading.url), 503, "not_ready");
  await loading.close();
});

Deno.test("shutdown turns not-ready, stops listening and is idempotent", async () => {
  const own = startServer(
    loadConfig({ PORT: "0", HOST: "127.0.0.1", MODEL_DIR: modelDir, LOG_LEVEL: "error" }),
    {
      logger: quiet,
    },
  );
  await own.ready;
  const url = `http://127.0.0.1:${own.port}`;
  assert.equal(await statusOf(fetch(`${url}/readyz`)), 200);
  const stopping = own.shutdown();
  assert.equal(own.state.draining, true);
  assert.equal(own.shutdown(), stopping, "a second call waits for the same drain");
  await stopping;
  await assert.rejects(fetch(`${url}/healthz`), "no longer listening");
});

// The shared server lives for the whole file, whatever tests run and in whatever order.
Deno.test.afterAll(async () => {
  await server.shutdown();
  await Deno.remove(modelDir, { recursive: true });
});
