/**
 * Video throughput on this machine: times `POST /v1/videos/frames` (default model, real face detector) with 256
 * frames of 16x16 PNG and 64 frames of 800-px JPEG (the demo photos, resized). One JSON line per case. Then
 * the detector alone (`FacePipeline.detectMany`, landmarks included) on 8 of those frames at detector batch 1, 2,
 * 4 and 8, interleaved (median of `--runs`, default 3): frames/s per batch size and its ratio to batch 1.
 * `deno run -A tests/bench/video.ts [ssd|tiny] [--runs N] [--small N] [--big N]` (frame counts of the two
 * request cases, 0 skips one) (needs the face models in artifacts/models/:
 * `deno task models`).
 */
import sharp from "sharp";
import { loadConfig } from "../../src/config.ts";
import { startServer } from "../../routes/server.ts";
import { createLogger } from "../../src/logger.ts";
import { createFacePipeline } from "../../src/faces/pipeline.ts";
import { decodeImage } from "../../src/image.ts";
import type { DetectorName } from "../../src/faces/detectors.ts";
const flag = (name: string, fallback: number) => {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
};
const RUNS = flag("--runs", 3), SMALL = flag("--small", 256), BIG = flag("--big", 64);
const detector = Deno.args.find((a, i) => !a.startsWith("--") && !Deno.args[i - 1]?.startsWith("--")); // "ssd" or "tiny"
const server = startServer(
  loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    MODEL_DIR: new URL("../../artifacts/models/", import.meta.url).pathname,
    LOG_LEVEL: "error",
    REQUEST_TIMEOUT_MS: "600000",
    VIDEO_TIMEOUT_MS: "600000",
  }),
  { logger: createLogger({ level: "error" }) },
);
await server.ready;
const base = `http://127.0.0.1:${server.port}`;
const photos = [1, 2, 3, 4, 5, 6].map((n) =>
  Deno.readFileSync(new URL(`../../node_modules/@vladmandic/face-api/demo/sample${n}.jpg`, import.meta.url))
);
const big = await Promise.all(
  photos.map(async (p) => new Uint8Array(await sharp(p).resize({ width: 800 }).jpeg().toBuffer())),
);
const small = new Uint8Array(
  await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 90, g: 90, b: 200 } } }).png()
    .toBuffer(),
);
async function run(name: string, frames: Uint8Array[]) {
  const form = new FormData();
  for (const f of frames) {
    form.append("frames", new Blob([f as Uint8Array<ArrayBuffer>], { type: "image/jpeg" }), "f.jpg");
  }
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/videos/frames${detector ? `?detector=${detector}` : ""}`, {
    method: "POST",
    body: form,
  });
  const j = await res.json();
  const ms = performance.now() - t0;
  const faces = j.frames?.reduce((s: number, f: { faces: unknown[] }) => s + f.faces.length, 0);
  console.log(
    JSON.stringify({
      name,
      detector: detector ?? "ssd",
      status: res.status,
      wallMs: Math.round(ms),
      faces,
      timings: j.timings,
      detail: j.detail,
    }),
  );
}
if (SMALL) await run(`${SMALL}x16px`, Array.from({ length: SMALL }, () => small));
if (BIG) await run(`${BIG}x800px`, Array.from({ length: BIG }, (_, i) => big[i % 6]));
await server.shutdown();

// --runs 0: only the request cases.
if (RUNS > 0) await detectorRows();

async function detectorRows() {
  const pipeline = await createFacePipeline({
    modelDir: new URL("../../artifacts/models/", import.meta.url).pathname,
  });
  const decoded = await Promise.all(Array.from({ length: 8 }, (_, i) => decodeImage(big[i % 6])));
  const which = (detector === "tiny" ? "tiny" : "ssd-multiscale") as DetectorName;
  const sizes = [1, 2, 4, 8];
  const detectAll = async (batch: number) => {
    for (let i = 0; i < decoded.length; i += batch) {
      await pipeline.detectMany(decoded.slice(i, i + batch), { detector: which });
    }
  };
  for (const b of sizes) await detectAll(b); // warm-up: onnxruntime plans each batch shape once
  const times: number[][] = sizes.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    for (const [k, b] of sizes.entries()) {
      const t = performance.now();
      await detectAll(b);
      times[k].push(performance.now() - t);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fps = times.map((t) => decoded.length / (median(t) / 1000));
  for (const [k, b] of sizes.entries()) {
    console.log(JSON.stringify({
      name: "detectMany 8x800px",
      detector: which,
      batch: b,
      framesPerSecond: Number(fps[k].toFixed(2)),
      vsBatch1: Number((fps[k] / fps[0]).toFixed(3)),
    }));
  }
  await pipeline.release();
}
