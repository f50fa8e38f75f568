/**
 * `deno task bench:api [--width 1] [--frames 64] [--requests 2] [--rss-requests 5000] [--rss-detector NAME]
 *   [--provider cpu|cuda] [--int8 [--calibration DIR] [--samples N]]`
 *
 * One run, one machine, figures as ratios against a baseline measured in the same run:
 * 1. raw onnxruntime throughput of SCAN+CCI at batch 32 on pre-cropped 224x224 faces (tensor prep + run, in this
 *    process), vs `POST /v1/videos/frames?detect=false` on the same faces as base64 PNG frames (JSON + decode +
 *    batcher + HTTP, in the server process), interleaved, best of 3 each: goal >= 0.9x;
 * 2. `POST /v1/expressions` (default model, detection on) on face-api's demo photos at concurrency 1, 8 and 32:
 *    p50/p99 latency and requests/s;
 * 3. cold start of `routes/server.ts` (process spawn -> /readyz 200, and the server's own logged coldStartMs);
 * 4. server RSS at idle, after a warm-up, and after `--rss-requests` requests (goal: growth < 5%): face crops
 *    with `detect=false`, or with `--rss-detector NAME` the demo photos at 640 px through that detector.
 * With `--int8`, an INT8 copy of that SCAN+CCI (`quantizeModel`, calibrated on DIR, default the bench's own
 * aligned demo faces; no mixed-precision search) is served beside it as `scan-cci-int8`, and part 1 runs fp32
 * and INT8 side by side, interleaved (raw and API for each), with the INT8 agreement on the held-out images.
 * The server runs as a subprocess (like production); SCAN+CCI is the seeded, untrained build (speed only).
 * Prints a table and one JSON line.
 */
import { parseArgs } from "node:util";
import { Buffer } from "node:buffer";
import { createFacePipeline } from "../../src/faces/pipeline.ts";
import { alignedCrop } from "../../src/faces/prepare.ts";
import { decodeImage, encodePng } from "../../src/image.ts";
import { type ExecutionProvider, openModel } from "../../src/session.ts";
import { toTensor } from "../../model/preprocess.ts";
import { writeArtifact } from "../../model/artifact.ts";
import { buildScanCci } from "../../model/scan_cci/build.ts";
import { randomScanCci } from "../../model/scan_cci/random.ts";
import { quantizeModel } from "../../src/quantize.ts";
import { DEMO_PHOTOS, faceModelDir } from "../faces/models.ts";
import { serverCommand, withFaceModels } from "../api/fixtures.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    width: { type: "string", default: "1" },
    frames: { type: "string", default: "64" },
    requests: { type: "string", default: "2" },
    "rss-requests": { type: "string", default: "5000" },
    "rss-detector": { type: "string" },
    provider: { type: "string", default: "cpu" },
    int8: { type: "boolean", default: false },
    calibration: { type: "string" },
    samples: { type: "string", default: "8" },
  },
});
const WIDTH = Number(values.width), FRAMES = Number(values.frames), PER_LEVEL = Number(values.requests);
const RSS_REQUESTS = Number(values["rss-requests"]);
const PROVIDER = values.provider as ExecutionProvider;
const BATCH = 32;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

// ---- models: face-api ports + a seeded SCAN+CCI in a temp folder ----
const faceDir = await faceModelDir();
const modelDir = await Deno.makeTempDir({ prefix: "fer-bench-api-" });
await withFaceModels(modelDir); // every detector net the server checks at start, landmarks, the baseline
const built = await buildScanCci({
  tensors: randomScanCci({ seed: 1, width: WIDTH, classes: 7 }),
  labels: "affectnet",
  width: WIDTH,
  source: "random init (tests/bench/api.ts)",
  trained: false,
  seed: 1,
});
const { manifestPath } = await writeArtifact(modelDir, built);

// ---- pre-cropped faces: every face of the demo photos, aligned to 224x224 ----
const pipeline = await createFacePipeline({ modelDir: faceDir });
const crops: { raw: ReturnType<typeof alignedCrop>; png: Uint8Array }[] = [];
for (const path of DEMO_PHOTOS) {
  const image = await decodeImage(await Deno.readFile(path));
  for (const face of await pipeline.detect(image, { landmarks: true })) {
    const raw = alignedCrop(image, face, 224);
    crops.push({ raw, png: await encodePng(raw) });
  }
}
await pipeline.release();
const frames = Array.from({ length: FRAMES }, (_, i) => crops[i % crops.length]);

// ---- INT8 copy of the same SCAN+CCI, served beside it (--int8) ----
let int8: Awaited<ReturnType<typeof quantizeModel>> | undefined;
if (values.int8) {
  let calibrationDir = values.calibration;
  if (!calibrationDir) {
    calibrationDir = await Deno.makeTempDir({ prefix: "fer-bench-api-calib-" });
    for (const [i, c] of crops.entries()) await Deno.writeFile(`${calibrationDir}/face${i}.png`, c.png);
  }
  int8 = await quantizeModel({
    manifestPath,
    calibrationDir,
    outDir: modelDir,
    samples: Number(values.samples),
    maxFloatNodes: 0,
  });
  if (!values.calibration) await Deno.remove(calibrationDir, { recursive: true });
}

// ---- 1a. raw onnxruntime at batch 32 ----
const session = await openModel(manifestPath, { executionProvider: PROVIDER });
const session8 = int8 ? await openModel(int8.manifestPath, { executionProvider: PROVIDER }) : undefined;
const spec = session.manifest.input;
const per = 3 * 224 * 224;
async function rawPass(s = session): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < frames.length; i += BATCH) {
    const chunk = frames.slice(i, i + BATCH);
    const data = new Float32Array(chunk.length * per);
    chunk.forEach((f, k) => toTensor(f.raw, spec, data, k * per));
    await s.run({ [spec.name]: { data, dims: [chunk.length, 3, 224, 224] } }, ["logits"]);
  }
  return (performance.now() - t0) / 1000;
}
// ---- server subprocess (cold start measured here) ----
const spawnAt = performance.now();
const child = serverCommand({
  MODEL_DIR: modelDir,
  MAX_BATCH: String(BATCH),
  EXECUTION_PROVIDER: PROVIDER,
  MAX_BODY_BYTES: String(64 * 1024 * 1024),
  LOG_LEVEL: "info",
}, { stderr: "inherit" }).spawn();
let port = 0, coldStartLogged = 0;
const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let buffer = "";
// The server's JSON log says its port ("listening") and its own cold start figure ("ready").
while (!port || !coldStartLogged) {
  const { value, done } = await lines.read();
  if (done) throw new Error("Cannot benchmark: server exited during start-up");
  buffer += value;
  for (const line of buffer.split("\n").slice(0, -1)) {
    if (!line.startsWith("{")) continue;
    const j = JSON.parse(line);
    if (j.msg === "listening") port = j.port;
    if (j.msg === "ready") coldStartLogged = j.coldStartMs;
  }
  buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
}
(async () => {
  for (;;) if ((await lines.read()).done) break;
})();
const base = `http://127.0.0.1:${port}`;
while ((await fetch(`${base}/readyz`).then((r) => r.body?.cancel().then(() => r.status))) !== 200) {
  await new Promise((r) => setTimeout(r, 20));
}
const coldStartMs = performance.now() - spawnAt;

async function rssMiB(): Promise<number> {
  // The server reports its own RSS (process_resident_memory_bytes); no /proc access needed.
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(text.match(/^process_resident_memory_bytes (\d+)/m)![1]) / 2 ** 20;
}
const rssIdle = await rssMiB();

// ---- 1b. /v1/videos/frames detect=false, same frames ----
const body = JSON.stringify({
  frames: frames.map((f) => ({ image: Buffer.from(f.png).toString("base64") })),
});
async function apiPass(model = "scan-cci"): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/videos/frames?detect=false&model=${model}&track=false`, {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
  });
  if (res.status !== 200) throw new Error(`Cannot benchmark: /v1/videos/frames answered ${res.status}`);
  await res.json();
  return (performance.now() - t0) / 1000;
}
// Interleaved (raw, API, raw, API, ...) so load from elsewhere on the machine hits both sides alike; best of 3.
await rawPass();
await apiPass();
const rawTimes: number[] = [], apiTimes: number[] = [], raw8Times: number[] = [], api8Times: number[] = [];
if (session8) {
  await rawPass(session8);
  await apiPass(int8!.manifest.id);
}
for (let k = 0; k < 3; k++) {
  rawTimes.push(await rawPass());
  apiTimes.push(await apiPass());
  if (session8) {
    raw8Times.push(await rawPass(session8));
    api8Times.push(await apiPass(int8!.manifest.id));
  }
}
await session.release();
await session8?.release();
const rawFps = frames.length / Math.min(...rawTimes);
const apiFps = frames.length / Math.min(...apiTimes);
const raw8Fps = session8 ? frames.length / Math.min(...raw8Times) : undefined;
const api8Fps = session8 ? frames.length / Math.min(...api8Times) : undefined;

// ---- 2. /v1/expressions latency at concurrency 1, 8, 32 ----
const photos = DEMO_PHOTOS.map((p) => Deno.readFileSync(p));
async function load(concurrency: number, total: number, send: (i: number) => Promise<Response>) {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const i = next++;
      const s = performance.now();
      const res = await send(i);
      if (res.status !== 200) throw new Error(`Cannot benchmark: request answered ${res.status}`);
      await res.arrayBuffer();
      latencies.push(performance.now() - s);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  return {
    concurrency,
    requests: total,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    rps: total / seconds,
  };
}
const photo = (i: number) =>
  fetch(`${base}/v1/expressions`, {
    method: "POST",
    body: photos[i % photos.length],
    headers: { "content-type": "image/jpeg" },
  });
await load(2, 4, photo); // warm-up
const levels = [];
for (const c of [1, 8, 32]) levels.push(await load(c, Math.max(c * PER_LEVEL, 6), photo));

// ---- 4. RSS after many requests (cheap ones: default model on a face crop, no detection; or photos) ----
const RSS_DETECTOR = values["rss-detector"];
const small = RSS_DETECTOR
  ? await Promise.all(photos.map(async (p) => {
    const im = await decodeImage(p);
    return new Uint8Array(
      await encodePng(alignedCrop(im, null, 640, Math.round((640 * im.height) / im.width))),
    );
  }))
  : frames.slice(0, 8).map((f) => new Uint8Array(f.png));
const cheap = (i: number) =>
  fetch(`${base}/v1/expressions?${RSS_DETECTOR ? `detector=${RSS_DETECTOR}` : "detect=false"}`, {
    method: "POST",
    body: small[i % small.length],
    headers: { "content-type": "image/png" },
  });
await load(8, 500, cheap);
const rssWarm = await rssMiB();
const many = await load(16, RSS_REQUESTS, cheap);
const rssAfter = await rssMiB();

child.kill("SIGTERM");
await child.status;
await Deno.remove(modelDir, { recursive: true });

const result = {
  machine: {
    cpus: navigator.hardwareConcurrency,
    provider: PROVIDER,
    scanWidth: WIDTH,
    gflopsPerFace: built.manifest.gflops,
  },
  throughput: {
    frames: FRAMES,
    batch: BATCH,
    rawFps: +rawFps.toFixed(1),
    apiFps: +apiFps.toFixed(1),
    ratio: +(apiFps / rawFps).toFixed(3),
    ...(int8
      ? {
        int8: {
          rawFps: +raw8Fps!.toFixed(1),
          apiFps: +api8Fps!.toFixed(1),
          rawSpeedup: +(raw8Fps! / rawFps).toFixed(2),
          apiSpeedup: +(api8Fps! / apiFps).toFixed(2),
          agreement: int8.manifest.quantization?.agreement,
        },
      }
      : {}),
  },
  latency: levels.map((l) => ({
    ...l,
    p50: +l.p50.toFixed(1),
    p99: +l.p99.toFixed(1),
    rps: +l.rps.toFixed(2),
  })),
  coldStart: { spawnToReadyMs: Math.round(coldStartMs), loggedMs: coldStartLogged },
  rss: {
    idleMiB: +rssIdle.toFixed(1),
    afterWarmupMiB: +rssWarm.toFixed(1),
    afterMiB: +rssAfter.toFixed(1),
    requests: RSS_REQUESTS,
    detector: RSS_DETECTOR ?? null,
    rps: +many.rps.toFixed(1),
    growthVsWarmup: +((rssAfter - rssWarm) / rssWarm).toFixed(4),
    growthVsIdle: +((rssAfter - rssIdle) / rssIdle).toFixed(4),
  },
};

console.log(`\nscan-fer API benchmark (${PROVIDER}, ${result.machine.cpus} CPUs, SCAN+CCI width 1/${WIDTH})`);
console.log(`| measure | value |\n| --- | --- |`);
console.log(`| raw onnxruntime, batch ${BATCH}, ${FRAMES} faces | ${result.throughput.rawFps} faces/s |`);
console.log(`| /v1/videos/frames detect=false, same faces | ${result.throughput.apiFps} faces/s |`);
console.log(`| API / raw | ${result.throughput.ratio}x (goal >= 0.9x) |`);
if (result.throughput.int8) {
  const q = result.throughput.int8;
  console.log(`| INT8: raw onnxruntime, same faces | ${q.rawFps} faces/s (${q.rawSpeedup}x fp32) |`);
  console.log(`| INT8: /v1/videos/frames, same faces | ${q.apiFps} faces/s (${q.apiSpeedup}x fp32) |`);
  console.log(
    `| INT8 argmax agreement with fp32 | ${q.agreement?.argmax} on ${q.agreement?.samples} held-out faces |`,
  );
}
for (const l of result.latency) {
  console.log(
    `| /v1/expressions c=${l.concurrency} (${l.requests} req) | p50 ${l.p50} ms, p99 ${l.p99} ms, ${l.rps} req/s |`,
  );
}
console.log(
  `| cold start (spawn -> /readyz 200) | ${result.coldStart.spawnToReadyMs} ms (logged ${coldStartLogged} ms) |`,
);
console.log(
  `| RSS idle / after warm-up / after ${RSS_REQUESTS} req | ${result.rss.idleMiB} / ${result.rss.afterWarmupMiB} / ` +
    `${result.rss.afterMiB} MiB (growth ${(result.rss.growthVsWarmup * 100).toFixed(1)}% vs warm-up) |`,
);
console.log(JSON.stringify(result));
