/**
 * Video throughput on this machine: times `POST /v1/videos/frames` (default model, real face detector) with 256
 * frames of 16x16 PNG and 64 frames of 800-px JPEG (the demo photos, resized). One JSON line per case.
 * `deno run -A tests/bench/video.ts [ssd|tiny]` (needs the face models in artifacts/models/: `deno task models`).
 */
import sharp from "sharp";
import { loadConfig } from "../../src/config.ts";
import { startServer } from "../../routes/server.ts";
import { createLogger } from "../../src/logger.ts";
const detector = Deno.args[0]; // optional: "ssd" (default) or "tiny"
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
await run("256x16px", Array.from({ length: 256 }, () => small));
await run("64x800px", Array.from({ length: 64 }, (_, i) => big[i % 6]));
await server.shutdown();
