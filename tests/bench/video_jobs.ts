/**
 * Video jobs against the frames endpoint, on this machine: a 720p and a 1080p clip made here with ffmpeg from a
 * demo photo (panned, 25 fps, h264) go through `POST /v1/videos` with each detector, and the same frames (the
 * job's sampling rate and decode size, extracted by ffmpeg as JPEG) through `POST /v1/videos/frames` in the same
 * run. Reports frames/s of both paths from upload to the last result and their ratio (job / frames, goal >= 1),
 * also counting the client's own ffmpeg extraction on the frames side (`ratioWithExtract`: what a user holding
 * only the video file pays either way) and the runner's own rate (`progress.fps`),
 * and the server's RSS (from `ps`) sampled every 100 ms while the job runs. The server is a subprocess
 * (routes/server.ts) with the default model and MAX_VIDEO_SIDE=1920, so 1080p frames are analysed at full size.
 * One JSON line per case.
 *
 * `deno task bench:video [--seconds 3] [--fps 5] [--detectors ssd,tiny] [--sizes 720,1080] [--frames-endpoint false]
 * [--store sqlite|postgres]` (`postgres`: the server keeps its jobs in a throwaway PostgreSQL cluster started
 * here, tests/api/postgres.ts, as with DATABASE_URL; needs Debian's postgresql)
 * (`--seconds 600 --frames-endpoint false`: memory over a 10-minute video, the job alone; `rssMiB.quarters` is the
 * RSS at the end of each quarter of the job),
 * (needs the face models in artifacts/models/: `deno task models`; ffmpeg on PATH).
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DETECTORS } from "../../src/faces/detectors.ts";
import { serverCommand } from "../api/fixtures.ts";
import { startPostgres, type TestPostgres } from "../api/postgres.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "3" },
    fps: { type: "string", default: "5" },
    detectors: { type: "string", default: Object.keys(DETECTORS).join(",") },
    sizes: { type: "string", default: "720,1080" },
    "frames-endpoint": { type: "string", default: "true" },
    store: { type: "string", default: "sqlite" },
  },
});
if (!["sqlite", "postgres"].includes(args.values.store)) {
  throw new Error(`Cannot run bench: --store "${args.values.store}" is not sqlite or postgres`);
}
const pgc: TestPostgres | undefined = args.values.store === "postgres" ? await startPostgres() : undefined;
const seconds = Number(args.values.seconds);
const fps = Number(args.values.fps);
const detectors = args.values.detectors.split(",");
const sizes = args.values.sizes.split(",").map(Number);
const compare = args.values["frames-endpoint"] !== "false";
const PHOTO = new URL("../../node_modules/@vladmandic/face-api/demo/sample1.jpg", import.meta.url).pathname;
const tmp = await Deno.makeTempDir({ prefix: "fer-bench-video-" });

async function ffmpeg(argv: string[]): Promise<void> {
  const r = await new Deno.Command("ffmpeg", { args: ["-v", "error", "-y", ...argv], stderr: "piped" })
    .output();
  if (!r.success) throw new Error(`Cannot run ffmpeg: ${new TextDecoder().decode(r.stderr)}`);
}

/** A `height`p clip (16:9) of the demo photo, scaled past the frame and panned sideways so boxes move. */
async function makeClip(height: number): Promise<string> {
  const width = Math.round(height * 16 / 9 / 2) * 2;
  const out = join(tmp, `${height}p.mp4`);
  await ffmpeg([
    ...["-loop", "1", "-framerate", "25", "-i", PHOTO, "-t", String(seconds)],
    ...["-vf", `scale=${width + 200}:-2,crop=${width}:${height}:x='t*40':y=0,format=yuv420p`],
    ...["-c:v", "libx264", "-preset", "ultrafast", out],
  ]);
  return out;
}

/** The frames a job samples (`fps`, scaled to its decode size), as JPEG files, in order. */
async function extractFrames(clip: string, size: { width: number; height: number }): Promise<Uint8Array[]> {
  const dir = await Deno.makeTempDir({ dir: tmp });
  await ffmpeg([
    ...["-i", clip, "-vf", `fps=${fps},scale=${size.width}:${size.height}`, "-q:v", "2"],
    join(dir, "f%05d.jpg"),
  ]);
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  return names.map((n) => Deno.readFileSync(join(dir, n)));
}

/** The resident set of a process, from `ps` (Deno grants /proc/<pid> only with --allow-all). */
async function rssMiB(pid: number): Promise<number> {
  const r = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)], stdout: "piped" })
    .output();
  return Math.round(Number(new TextDecoder().decode(r.stdout).trim()) / 1024);
}

const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const port = (free.addr as Deno.NetAddr).port;
free.close();
const child = serverCommand({
  PORT: String(port),
  MODEL_DIR: new URL("../../artifacts/models/", import.meta.url).pathname,
  DATA_DIR: join(tmp, "data"),
  MAX_VIDEO_SIDE: "1920",
  MAX_BODY_BYTES: String(256 * 1024 * 1024),
  MAX_FRAMES: "10000",
  VIDEO_TIMEOUT_MS: "3600000",
  BODY_TIMEOUT_MS: "600000",
  LOG_LEVEL: "error",
  ...(pgc ? { DATABASE_URL: pgc.url } : {}),
}, { stdout: "null", stderr: "null" }).spawn();
const base = `http://127.0.0.1:${port}`;
for (let i = 0;; i++) {
  const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
  if (ok) break;
  if (i > 600) {
    child.kill("SIGTERM");
    await pgc?.stop();
    throw new Error("Cannot run bench: the server never got ready");
  }
  await new Promise((r) => setTimeout(r, 100));
}
const idleRss = await rssMiB(child.pid);

async function viaJob(clip: string, detector: string) {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/videos?fps=${fps}&detector=${detector}`, {
    method: "POST",
    body: await Deno.readFile(clip),
    headers: { "content-type": "video/mp4" },
  });
  if (res.status !== 202) {
    throw new Error(`Cannot run bench: upload answered ${res.status} ${await res.text()}`);
  }
  const { id } = await res.json();
  const rss: number[] = [];
  while (true) {
    rss.push(await rssMiB(child.pid));
    const job = await (await fetch(`${base}/v1/jobs/${id}`)).json();
    if (job.status === "succeeded") {
      const wall = (performance.now() - t0) / 1000;
      return { job, wall, rss };
    }
    if (job.status !== "queued" && job.status !== "running") {
      throw new Error(`Cannot run bench: job ${job.status} ${JSON.stringify(job.error)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function viaFrames(frames: Uint8Array[], detector: string) {
  const form = new FormData();
  for (const f of frames) {
    form.append("frames", new Blob([f as Uint8Array<ArrayBuffer>], { type: "image/jpeg" }), "f.jpg");
  }
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/videos/frames?detector=${detector}`, { method: "POST", body: form });
  const j = await res.json();
  if (res.status !== 200) throw new Error(`Cannot run bench: frames answered ${res.status} ${j.detail}`);
  return { frames: j.frames.length as number, wall: (performance.now() - t0) / 1000 };
}

try {
  for (const height of sizes) {
    const clip = await makeClip(height);
    for (const detector of detectors) {
      // Warm-up: the first request of a detector pays its session start; neither path should.
      await viaFrames((await extractFrames(clip, { width: 320, height: 180 })).slice(0, 2), detector);
      const job = await viaJob(clip, detector);
      const quarters = [1, 2, 3, 4].map((q) => job.rss[Math.max(0, Math.ceil((q / 4) * job.rss.length) - 1)]);
      const jobFps = job.job.progress.done / job.wall;
      const line: Record<string, unknown> = {
        video: `${height}p`,
        detector,
        store: args.values.store,
        seconds,
        fps,
        frameSize: job.job.frameSize,
        job: {
          frames: job.job.progress.done,
          wallS: +job.wall.toFixed(2),
          framesPerS: +jobFps.toFixed(2),
          // the runner's own rate: decode + analysis + storing, without upload, queueing and polling
          runnerFramesPerS: job.job.progress.fps,
        },
      };
      if (compare) {
        const te = performance.now();
        const frames = await extractFrames(clip, job.job.frameSize);
        const extractS = (performance.now() - te) / 1000;
        const batch = await viaFrames(frames, detector);
        const framesFps = batch.frames / batch.wall;
        // What a client with only the video file pays for the frames endpoint: its own ffmpeg run, then the call.
        const withExtractFps = batch.frames / (batch.wall + extractS);
        line.framesEndpoint = {
          frames: batch.frames,
          wallS: +batch.wall.toFixed(2),
          framesPerS: +framesFps.toFixed(2),
          extractS: +extractS.toFixed(2),
          withExtractFramesPerS: +withExtractFps.toFixed(2),
        };
        line.ratio = +(jobFps / framesFps).toFixed(2);
        line.ratioWithExtract = +(jobFps / withExtractFps).toFixed(2);
      }
      line.rssMiB = {
        idle: idleRss,
        min: Math.min(...job.rss),
        max: Math.max(...job.rss),
        quarters,
        samples: job.rss.length,
      };
      console.log(JSON.stringify(line));
    }
  }
} finally {
  child.kill("SIGTERM");
  await child.status;
  await pgc?.stop();
  await Deno.remove(tmp, { recursive: true });
}
