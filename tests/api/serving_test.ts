/**
 * Serving regressions from the QA report, against the real server (`startLoopbackServer`) on loopback with the tiny
 * fixture model and the real face-api ports: truncated and stalled uploads (raw TCP), per-frame error messages,
 * media-type and field messages, boolean options, the detector option, wall-clock timings, the untrained-default
 * warning and the startup refusal when the face models are missing (subprocess, exit code 2).
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { loadConfig } from "../../src/config.ts";
import { createApp } from "../../routes/app.ts";
import { createLogger } from "../../src/logger.ts";
import { createMetrics } from "../../src/metrics.ts";
import { loadRegistry } from "../../src/registry.ts";
import { CANONICAL_LABELS } from "../../model/spec.ts";
import {
  demoPhoto,
  serverCommand,
  solidPng,
  startLoopbackServer,
  tinyModelDir,
  writeTinyModel,
} from "./fixtures.ts";

const logLines: Record<string, unknown>[] = [];
const logger = createLogger({ level: "warn", write: (l) => logLines.push(JSON.parse(l)) });
const dir = await tinyModelDir("fer-serving-");
const server = startLoopbackServer(
  dir,
  { DEFAULT_MODEL: "tiny", BODY_TIMEOUT_MS: "700", LOG_LEVEL: "warn" },
  logger,
);
await server.ready;
const base = `http://127.0.0.1:${server.port}`;
const png = await solidPng(32, 32, [200, 40, 40]);

async function problem(res: Response, status: number, code: string): Promise<{ detail: string }> {
  const body = await res.json();
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${JSON.stringify(body)}`);
  assert.equal(body.code, code);
  return body;
}

/**
 * Sends `head` + `body` on a raw TCP connection, then half-closes (`end: "close"`) or stalls (`"stall"`), and
 * returns the status line and the response text (or "" when the server closed without answering).
 */
async function rawExchange(head: string, body: Uint8Array, end: "close" | "stall"): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(new TextEncoder().encode(head));
    await conn.write(body);
    if (end === "close") await conn.closeWrite();
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    while (true) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      const text = new TextDecoder().decode(Buffer.concat(chunks));
      // One response is enough; a stalled client never closes its side.
      const m = text.match(/content-length: (\d+)\r\n[\s\S]*?\r\n\r\n/i);
      if (m && text.length >= text.indexOf("\r\n\r\n") + 4 + Number(m[1])) return text;
    }
    return new TextDecoder().decode(Buffer.concat(chunks));
  } finally {
    conn.close();
  }
}

function head(path: string, type: string, length: number): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n\r\n`;
}

Deno.test("a body cut short (half-close) -> 400 naming the bytes received, in every body form; no 500", async () => {
  const boundary = "b0undary";
  const cases: [string, string, Uint8Array][] = [
    ["/v1/expressions", "image/jpeg", png.slice(0, 20)],
    ["/v1/expressions", "application/json", new TextEncoder().encode('{"image":"AAAA')],
    [
      "/v1/videos/frames",
      `multipart/form-data; boundary=${boundary}`,
      new TextEncoder().encode(`--${boundary}\r\n`),
    ],
  ];
  for (const [path, type, body] of cases) {
    const text = await rawExchange(head(path, type, 100000), body, "close");
    assert.match(text, /^HTTP\/1\.1 400/, `${path} ${type}: ${text.slice(0, 200)}`);
    const json = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
    assert.equal(json.code, "invalid_request");
    // Deno may drop the last partial chunk when the read fails, so the count is at most what was sent.
    const got = Number(json.detail.match(/closed after (\d+) of 100000 bytes/)?.[1]);
    assert.ok(got >= 0 && got <= body.length, json.detail);
  }
  assert.ok(!logLines.some((l) => l.msg === "unhandled error"), JSON.stringify(logLines));
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.doesNotMatch(metrics, /fer_http_requests_total\{[^}]*status="500"/);
});

Deno.test("a client that stalls mid-body gets 408 request_timeout after BODY_TIMEOUT_MS and is closed", async () => {
  const t0 = performance.now();
  const text = await rawExchange(head("/v1/expressions", "image/png", 100000), png.slice(0, 20), "stall");
  const ms = performance.now() - t0;
  assert.match(text, /^HTTP\/1\.1 408/, text.slice(0, 200));
  assert.match(text, /connection: close/i);
  const json = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
  assert.equal(json.code, "request_timeout");
  assert.match(json.detail, /only 20 of 100000 bytes arrived within 700 ms/);
  // Answered by the body deadline, not by the client giving up (no timing assertion beyond "it answered").
  assert.ok(ms >= 600, `answered after ${ms} ms`);
});

Deno.test("errors about one video frame name its index (multipart and JSON)", async () => {
  const garbage = new TextEncoder().encode("not an image at all");
  const form = new FormData();
  for (const b of [png, png, png, garbage]) form.append("frames", new Blob([b]), "f");
  const multipart = await problem(
    await fetch(`${base}/v1/videos/frames?detect=false`, { method: "POST", body: form }),
    422,
    "undecodable_image",
  );
  assert.match(multipart.detail, /^frames\[3\]: Cannot decode image/);
  const json = JSON.stringify({
    frames: [png, garbage].map((b) => ({ image: Buffer.from(b).toString("base64") })),
    detect: false,
  });
  const r = await fetch(`${base}/v1/videos/frames`, {
    method: "POST",
    body: json,
    headers: { "content-type": "application/json" },
  });
  assert.match((await problem(r, 422, "undecodable_image")).detail, /^frames\[1\]: /);
});

Deno.test("media types, multipart field names and boolean options get messages that name the problem", async () => {
  const text = await problem(
    await fetch(`${base}/v1/expressions`, {
      method: "POST",
      body: "hi",
      headers: { "content-type": "text/plain" },
    }),
    415,
    "unsupported_media_type",
  );
  assert.match(text.detail, /"text\/plain".*multipart\/form-data.*image\/jpeg.*application\/json/);
  await problem(
    await fetch(`${base}/v1/expressions`, {
      method: "POST",
      body: "image=abc",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    }),
    415,
    "unsupported_media_type",
  );
  const raw = await problem(
    await fetch(`${base}/v1/videos/frames`, {
      method: "POST",
      body: png,
      headers: { "content-type": "image/png" },
    }),
    415,
    "unsupported_media_type",
  );
  assert.match(raw.detail, /repeated field `frames`/);
  const photo = new FormData();
  photo.append("photo", new Blob([png]), "p.png");
  const field = await problem(
    await fetch(`${base}/v1/expressions`, { method: "POST", body: photo }),
    400,
    "invalid_request",
  );
  assert.match(field.detail, /expected one file in field `image`, no field `image` \(got `photo`\)/);
  const frames = new FormData();
  frames.append("frame", new Blob([png]), "p.png");
  assert.match(
    (await problem(
      await fetch(`${base}/v1/videos/frames`, { method: "POST", body: frames }),
      400,
      "invalid_request",
    ))
      .detail,
    /field `frames`/,
  );
  const send = (q: string) =>
    fetch(`${base}/v1/expressions?${q}`, {
      method: "POST",
      body: png,
      headers: { "content-type": "image/png" },
    });
  for (const q of ["detect=FALSE", "detect=False", "detect=0&attention=FALSE"]) {
    const res = await send(q);
    assert.equal(res.status, 200, q);
    assert.equal((await res.json()).faces.length, 1, q); // detect=false: the whole image is one face
  }
  const maybe = await problem(await send("detect=maybe"), 400, "invalid_request") as unknown as {
    issues: { path: string; message: string }[];
  };
  assert.deepEqual(maybe.issues, [{
    path: "query.detect",
    message: 'query.detect: expected true or false, got "maybe"',
  }]);
});

Deno.test("detector=tiny runs the Tiny Face Detector; timings are wall-clock with queue and inference apart", async () => {
  const photo = demoPhoto(2);
  const post = (q: string) =>
    fetch(`${base}/v1/expressions?${q}`, {
      method: "POST",
      body: photo,
      headers: { "content-type": "image/jpeg" },
    });
  const ssd = await (await post("detector=ssd")).json();
  const tiny = await (await post("detector=tiny")).json();
  assert.ok(ssd.faces.length > 0 && tiny.faces.length > 0);
  // Different detectors: the boxes are not identical.
  assert.notDeepEqual(
    tiny.faces.map((f: { box: unknown }) => f.box),
    ssd.faces.map((f: { box: unknown }) => f.box),
  );
  await problem(await post("detector=yolo"), 400, "invalid_request");
  const t = ssd.timings;
  assert.ok(Math.abs(t.classifyMs - (t.framesWaitMs + t.queueMs + t.inferenceMs)) < 0.05, JSON.stringify(t));
  assert.equal(t.framesWaitMs, 0, "a photo has no other frames to wait for");
  assert.ok(t.inferenceMs > 0 && t.queueMs >= 0);
  // Eight frames decoded in parallel: each stage's wall time is within the request's total, not a sum.
  const form = new FormData();
  for (let i = 0; i < 8; i++) form.append("frames", new Blob([photo]), "f.jpg");
  const video = await (await fetch(`${base}/v1/videos/frames?detector=tiny`, { method: "POST", body: form }))
    .json();
  const v = video.timings;
  assert.equal(video.frames.length, 8);
  for (const k of ["decodeMs", "detectMs", "classifyMs"]) {
    assert.ok(v[k] <= v.totalMs, `${k} ${JSON.stringify(v)}`);
  }
});

Deno.test("detect=false with landmarks -> 400; wrong methods on known paths -> 405 with Allow; CORS lists GET, POST", async () => {
  const r = await fetch(`${base}/v1/expressions?detect=false&landmarks=true`, {
    method: "POST",
    body: png,
    headers: { "content-type": "image/png" },
  });
  assert.match((await problem(r, 400, "invalid_request")).detail, /landmarks with detect=false/);
  for (
    const [method, path, allow] of [["POST", "/healthz", "GET, HEAD"], [
      "DELETE",
      "/v1/models/tiny",
      "GET, HEAD",
    ], [
      "GET",
      "/v1/videos/frames",
      "POST",
    ]]
  ) {
    const res = await fetch(`${base}${path}`, { method });
    assert.equal(res.headers.get("allow"), allow, `${method} ${path}`);
    await problem(res, 405, "method_not_allowed");
  }
  await problem(await fetch(`${base}/v1/nothing`, { method: "POST" }), 404, "not_found");
  const cors = createApp({
    config: loadConfig({ CORS_ORIGINS: "*" }),
    state: { draining: false, inFlight: 0 },
    logger: createLogger({ level: "error" }),
    metrics: createMetrics(),
  });
  const pre = await cors.request("/v1/expressions", {
    method: "OPTIONS",
    headers: { origin: "https://example.org", "access-control-request-method": "POST" },
  });
  assert.equal(pre.headers.get("access-control-allow-methods"), "GET,POST,OPTIONS");
});

Deno.test("an untrained default model is served with a warning in the log and in /v1/models", async () => {
  const only = await Deno.makeTempDir({ prefix: "fer-untrained-" });
  await writeTinyModel(only, { id: "tiny" });
  const lines: Record<string, unknown>[] = [];
  const registry = await loadRegistry({
    modelDir: only,
    logger: createLogger({ level: "warn", write: (l) => lines.push(JSON.parse(l)) }),
  });
  assert.ok(lines.some((l) => l.msg === "untrained default model" && l.model === "tiny"));
  const app = createApp({
    config: loadConfig({ MODEL_DIR: only }),
    state: { registry, draining: false, inFlight: 0 },
    logger: createLogger({ level: "error" }),
    metrics: createMetrics(),
  });
  const list = await (await app.request("/v1/models")).json();
  assert.equal(list.defaultModel, "tiny");
  assert.match(list.warning, /untrained/);
  // QA #18: the output order and the response order are both stated.
  assert.deepEqual(list.models[0].outputLabels, list.models[0].labels);
  assert.deepEqual(list.models[0].canonicalLabels, [...CANONICAL_LABELS]);
  assert.notDeepEqual(list.models[0].outputLabels, list.models[0].canonicalLabels);
  // A trained default carries no warning.
  await writeTinyModel(only, { id: "tiny", trained: true });
  assert.equal((await loadRegistry({ modelDir: only })).defaultWarning, undefined);
  await registry.close();
  await Deno.remove(only, { recursive: true });
});

Deno.test("routes/server.ts refuses to start (exit 2) when MODEL_DIR lacks the face models, naming the command", async () => {
  const only = await Deno.makeTempDir({ prefix: "fer-nofaces-" });
  await writeTinyModel(only, { id: "tiny" });
  const out = await serverCommand({ MODEL_DIR: only }, { stdout: "null" }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, err);
  assert.ok(err.includes(`face models are missing from MODEL_DIR "${only}"`), err);
  assert.ok(err.includes(`deno task models --out ${only}`), err);
  await Deno.remove(only, { recursive: true });
});

// The shared server lives for the whole file, whatever tests run and in whatever order.
Deno.test.afterAll(async () => {
  await server.shutdown();
  await Deno.remove(dir, { recursive: true });
});
