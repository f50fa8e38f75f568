/**
 * Video jobs end to end: the real server on loopback with the face-api ports, test videos made here with ffmpeg
 * from the demo photos (never committed), uploaded, polled and read back in every format; validation before
 * queueing, idempotency, per-key isolation, NDJSON during the run, cancel (ffmpeg gone when DELETE answers), resume
 * after a restart and no ffmpeg -> 503.
 * Skipped off CI when ffmpeg is not installed (`.ci/run` installs it; in CI a missing ffmpeg fails).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { startServer } from "../../routes/server.ts";
import { createApp } from "../../routes/app.ts";
import { createLogger } from "../../src/logger.ts";
import { createMetrics } from "../../src/metrics.ts";
import { Jobs } from "../../src/jobs/jobs.ts";
import { ABAW_HEADER, CSV_HEADER } from "../../src/jobs/formats.ts";
import { apiModelDir } from "./fixtures.ts";
import { makeVideo, probeCount, processesWith, SKIP_WITHOUT_FFMPEG } from "../fixtures/videos.ts";
import { VideoJobOptions } from "../../openapi/schemas.ts";

const ignore = SKIP_WITHOUT_FFMPEG;
const KEY = "jobs-key-1";
const OTHER = "jobs-key-2";
const quiet = createLogger({ level: "error" });
const tmp = await Deno.makeTempDir({ prefix: "fer-jobs-" });

const setup = ignore ? undefined : await (async () => {
  const server = startServer(
    loadConfig({
      PORT: "0",
      HOST: "127.0.0.1",
      MODEL_DIR: await apiModelDir(),
      API_KEYS: `${KEY},${OTHER}`,
      DATA_DIR: join(tmp, "data"),
      MAX_VIDEO_BYTES: "2000000",
      LOG_LEVEL: "error",
    }),
    { logger: quiet },
  );
  await server.ready;
  return {
    server,
    base: `http://127.0.0.1:${server.port}`,
    short: await makeVideo(tmp, "short.mp4", { seconds: 2 }),
  };
})();

function call(path: string, init: RequestInit = {}, key = KEY): Promise<Response> {
  return fetch(`${setup!.base}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, ...init.headers },
  });
}

async function upload(path: string, query: string, headers: Record<string, string> = {}, key = KEY) {
  return await call(`/v1/videos?${query}`, {
    method: "POST",
    body: await Deno.readFile(path),
    headers: { "content-type": "video/mp4", ...headers },
  }, key);
}

async function finished(id: string) {
  while (true) {
    const job = await (await call(`/v1/jobs/${id}`)).json();
    if (!["queued", "running"].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function problem(res: Response, status: number, code: string) {
  assert.equal(res.status, status);
  assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
  assert.equal((await res.json()).code, code);
}

Deno.test({
  name:
    "POST /v1/videos -> poll -> json, ndjson, csv and abaw results; one frame per ffprobe frame at that fps",
  ignore,
  async fn() {
    const fps = 5;
    const res = await upload(setup!.short, `fps=${fps}&detector=tiny`);
    assert.equal(res.status, 202);
    const job = await res.json();
    assert.equal(res.headers.get("location"), `/v1/jobs/${job.id}`);
    assert.equal(job.video.codec, "h264");
    assert.match(job.video.container, /mp4/);
    const done = await finished(job.id);
    assert.equal(done.status, "succeeded", JSON.stringify(done.error));
    const expected = await probeCount(setup!.short, fps);
    assert.ok(expected > 0);
    assert.equal(done.progress.done, expected);
    assert.equal(done.progress.total, expected);

    const json = await (await call(`/v1/jobs/${job.id}/results`)).json();
    assert.equal(json.frames.length, expected);
    assert.ok(json.frames.some((f: { faces: unknown[] }) => f.faces.length > 0), "the demo photo has faces");
    assert.deepEqual(json.frames.map((f: { index: number }) => f.index), [...Array(expected).keys()]);
    assert.equal(json.frames[1].timestamp, 1 / fps);
    assert.ok(json.tracks.length >= 1);

    const nd =
      await (await call(`/v1/jobs/${job.id}/results`, { headers: { accept: "application/x-ndjson" } }))
        .text();
    const lines = nd.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines, json.frames);

    const csv = (await (await call(`/v1/jobs/${job.id}/results?format=csv`)).text()).trim().split("\n");
    assert.equal(csv[0], CSV_HEADER);
    const faces = json.frames.reduce(
      (n: number, f: { faces: unknown[] }) => n + Math.max(1, f.faces.length),
      0,
    );
    assert.equal(csv.length - 1, faces);
    assert.equal(csv[1].split(",").length, 15);

    const abaw = (await (await call(`/v1/jobs/${job.id}/results?format=abaw`)).text()).trim().split("\n");
    assert.equal(abaw[0], ABAW_HEADER);
    assert.equal(abaw.length - 1, expected);
    for (const l of abaw.slice(1)) assert.ok(Number(l) >= -1 && Number(l) <= 6, l);
    const none = (await (await call(`/v1/jobs/${job.id}/results?format=abaw&track=999`)).text()).trim()
      .split("\n").slice(1);
    assert.deepEqual(none, new Array(expected).fill("-1"));

    const ready = await (await fetch(`${setup!.base}/readyz`)).json();
    assert.deepEqual(ready.videoJobs, { ffmpeg: true });

    const list = await (await call(`/v1/jobs?limit=10`)).json();
    assert.ok(list.jobs.some((j: { id: string }) => j.id === job.id));
    const theirs = await (await call(`/v1/jobs`, {}, OTHER)).json();
    assert.ok(!theirs.jobs.some((j: { id: string }) => j.id === job.id), "another key does not see the job");
    await problem(await call(`/v1/jobs/${job.id}`, {}, OTHER), 404, "not_found");
  },
});

Deno.test({
  name:
    "bad uploads are refused before queueing (413 on the stream, 415, 422, 400, 401); Idempotency-Key returns the same job",
  ignore,
  async fn() {
    await problem(
      await call("/v1/videos", { method: "POST", body: "x", headers: { "content-type": "text/plain" } }),
      415,
      "unsupported_media_type",
    );
    await problem(
      await call("/v1/videos", {
        method: "POST",
        body: "not a video",
        headers: { "content-type": "video/mp4" },
      }),
      422,
      "undecodable_video",
    );
    const big = new Uint8Array(2_500_000);
    await problem(
      await call("/v1/videos", { method: "POST", body: big, headers: { "content-type": "video/mp4" } }),
      413,
      "payload_too_large",
    );
    // Chunked (no Content-Length): counted on the stream while it is written to disk, and the part file removed.
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(500_000));
        c.close();
      },
    });
    await problem(
      await call("/v1/videos", { method: "POST", body: chunked, headers: { "content-type": "video/mp4" } }),
      413,
      "payload_too_large",
    );
    const left = [...Deno.readDirSync(join(tmp, "data", "uploads"))].filter((e) => e.name.endsWith(".part"));
    assert.deepEqual(left, []);
    await problem(await upload(setup!.short, "start=50"), 400, "invalid_request");
    await problem(await upload(setup!.short, "start=2&end=1"), 400, "invalid_request");
    await problem(await fetch(`${setup!.base}/v1/jobs`), 401, "unauthorized");
    // The first upload as multipart (field `video`), the repeat as a raw body: the same job either way.
    const form = new FormData();
    form.append("video", new File([await Deno.readFile(setup!.short)], "short.mp4", { type: "video/mp4" }));
    const first = await call("/v1/videos?fps=1", {
      method: "POST",
      body: form,
      headers: { "idempotency-key": "k-1" },
    });
    assert.equal(first.status, 202);
    const a = await first.json();
    const b = await (await upload(setup!.short, "fps=1", { "idempotency-key": "k-1" })).json();
    assert.equal(a.id, b.id);
    const c = await (await upload(setup!.short, "fps=1", { "idempotency-key": "k-1" }, OTHER)).json();
    assert.notEqual(c.id, a.id, "keys are per API key");
    const webm = await upload(await makeVideo(tmp, "short.webm", { seconds: 1, codec: "vp9" }), "fps=1", {
      "content-type": "video/webm",
    });
    assert.equal(webm.status, 202);
    const w = await webm.json();
    assert.equal(w.video.codec, "vp9");
    assert.match(w.video.container, /webm/);
    await (await call(`/v1/jobs/${w.id}`, { method: "DELETE" })).body?.cancel();
    for (const id of [a.id, c.id]) {
      await (await call(`/v1/jobs/${id}`, { method: "DELETE" }, id === c.id ? OTHER : KEY)).body?.cancel();
    }
  },
});

Deno.test({
  name: "NDJSON streams lines while the job runs; DELETE cancels and its ffmpeg is gone when it answers",
  ignore,
  async fn() {
    const long = await makeVideo(tmp, "long.mp4", { seconds: 10 });
    const job = await (await upload(long, "fps=25&detector=tiny")).json();
    const stream = await call(`/v1/jobs/${job.id}/results?format=ndjson`);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    assert.ok(!first.done);
    assert.equal(JSON.parse(first.value.split("\n")[0]).index, 0);
    const running = await (await call(`/v1/jobs/${job.id}`)).json();
    assert.equal(running.status, "running");
    assert.ok((await processesWith(job.id)).length > 0, "ffmpeg runs while the job does");
    const res = await call(`/v1/jobs/${job.id}`, { method: "DELETE" });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).status, "cancelled");
    assert.deepEqual(await processesWith(job.id), []);
    // The stream ends with the job.
    while (!(await reader.read()).done) { /* drain */ }
    const after = await finished(job.id);
    assert.equal(after.status, "cancelled");
    assert.ok(after.progress.done < after.progress.total);
    await problem(await call(`/v1/jobs/${job.id}/results`), 409, "job_not_finished");
  },
});

Deno.test({
  name:
    "without ffmpeg (FFMPEG_PATH pointing at a missing file) an upload answers 503 naming the package, /v1/capabilities says so",
  ignore,
  async fn() {
    const config = loadConfig({ FFMPEG_PATH: "/nonexistent/bin/ffmpeg", DATA_DIR: join(tmp, "no-ffmpeg") });
    const jobs = new Jobs({
      dataDir: config.dataDir,
      ffmpeg: config.ffmpegPath,
      concurrency: 1,
      timeoutMs: 60000,
      maxBatch: 32,
      maxPixels: config.maxPixels,
      maxVideoSeconds: 60,
      maxVideoSide: 640,
      registry: () => setup!.server.state.registry,
    });
    const app = createApp({
      config,
      state: setup!.server.state,
      logger: quiet,
      metrics: createMetrics(),
      jobs,
    });
    const srv = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
    try {
      const res = await fetch(`http://127.0.0.1:${srv.addr.port}/v1/videos`, {
        method: "POST",
        body: await Deno.readFile(setup!.short),
        headers: { "content-type": "video/mp4" },
      });
      assert.equal(res.status, 503);
      const body = await res.json();
      assert.equal(body.code, "ffmpeg_unavailable");
      assert.match(body.detail, /apt-get install -y ffmpeg/);
      jobs.start();
      while (jobs.ffmpeg === undefined) await new Promise((r) => setTimeout(r, 20));
      const ready = await (await fetch(`http://127.0.0.1:${srv.addr.port}/readyz`)).json();
      assert.deepEqual(ready.videoJobs, { ffmpeg: false });
      const caps = await (await fetch(`http://127.0.0.1:${srv.addr.port}/v1/capabilities`)).json();
      assert.equal(caps.videoJobs.ffmpeg, false);
      assert.match(caps.videoJobs.install, /apt-get install -y ffmpeg/);
    } finally {
      await srv.shutdown();
      await jobs.close();
    }
  },
});

Deno.test({
  name: "a server stopped mid-job resumes it on restart from the last stored frame: none missing or repeated",
  ignore,
  async fn() {
    const dataDir = join(tmp, "resume");
    const start = async () => {
      const server = startServer(
        loadConfig({
          PORT: "0",
          HOST: "127.0.0.1",
          MODEL_DIR: await apiModelDir(),
          DATA_DIR: dataDir,
          LOG_LEVEL: "error",
          // The test's own keep-alive connections would hold the default 8 s grace period.
          SHUTDOWN_GRACE_MS: "300",
        }),
        { logger: quiet },
      );
      await server.ready;
      return { server, base: `http://127.0.0.1:${server.port}` };
    };
    // 50 frames at fps=5: four chunks, so the first stored chunk is seen while later ones are still running
    // (with two chunks in flight, a 20-frame job can be done by the first poll).
    const video = await makeVideo(tmp, "resume.mp4", { seconds: 10 });
    const a = await start();
    const res = await fetch(`${a.base}/v1/videos?fps=5&detector=tiny`, {
      method: "POST",
      body: await Deno.readFile(video),
      headers: { "content-type": "video/mp4" },
    });
    const { id } = await res.json();
    let job;
    do {
      await new Promise((r) => setTimeout(r, 50));
      job = await (await fetch(`${a.base}/v1/jobs/${id}`)).json();
    } while (job.progress.done === 0 && job.status !== "succeeded");
    assert.equal(job.status, "running", "the job is stopped mid-way, not after its end");
    await a.server.shutdown();
    const b = await start();
    try {
      do {
        await new Promise((r) => setTimeout(r, 200));
        job = await (await fetch(`${b.base}/v1/jobs/${id}`)).json();
      } while (["queued", "running"].includes(job.status));
      assert.equal(job.status, "succeeded", JSON.stringify(job.error));
      const expected = await probeCount(video, 5);
      const { frames } = await (await fetch(`${b.base}/v1/jobs/${id}/results`)).json();
      assert.deepEqual(frames.map((f: { index: number }) => f.index), [...Array(expected).keys()]);
    } finally {
      await b.server.shutdown();
    }
  },
});

Deno.test({
  name: "a job past JOB_TIMEOUT_MS fails with deadline_exceeded and its ffmpeg is gone",
  ignore,
  async fn() {
    const jobs = new Jobs({
      dataDir: join(tmp, "timeout"),
      ffmpeg: "ffmpeg",
      concurrency: 1,
      timeoutMs: 1500,
      maxBatch: 32,
      maxPixels: 40_000_000,
      maxVideoSeconds: 60,
      maxVideoSide: 320,
      registry: () => setup!.server.state.registry,
    });
    try {
      jobs.start();
      const job = await jobs.submit({
        video: { bytes: await Deno.readFile(await makeVideo(tmp, "timeout.mp4", { seconds: 10 })) },
        // The endpoint's defaults, as the route's schema fills them in.
        options: { ...VideoJobOptions.parse({ detector: "tiny" }), fps: 25 },
        owner: "",
      }, { id: "faceapi-expression", version: "", trained: true });
      let now = jobs.store.get(job.id)!;
      while (!["failed", "succeeded"].includes(now.status)) {
        await jobs.runner.wait(job.id);
        now = jobs.store.get(job.id)!;
      }
      assert.equal(now.status, "failed");
      assert.equal(now.error?.code, "deadline_exceeded");
      assert.match(now.error!.detail, /JOB_TIMEOUT_MS/);
      assert.deepEqual(await processesWith(job.id), []);
    } finally {
      await jobs.close();
    }
  },
});

Deno.test({
  name:
    "a video job's tracks run unbroken across the whole video: one trackId per face, across batch boundaries",
  ignore,
  async fn() {
    // 4 s at fps=10: 40 frames, five detector/model batches of 8, so a track must survive every boundary.
    const long = await makeVideo(tmp, "tracks.mp4", { seconds: 4 });
    const res = await upload(long, "fps=10");
    assert.equal(res.status, 202);
    const done = await finished((await res.json()).id);
    assert.equal(done.status, "succeeded", JSON.stringify(done.error));
    const json = await (await call(`/v1/jobs/${done.id}/results`)).json();
    const frames = json.frames as { faces: { trackId: number }[] }[];
    assert.equal(frames.length, 40);
    const most = Math.max(...frames.map((f) => f.faces.length));
    assert.ok(most >= 1, "the demo photo has faces");
    const ids = new Set(frames.flatMap((f) => f.faces.map((x) => x.trackId)));
    // A track that broke (at a batch boundary or anywhere) would start a new id: more ids than faces.
    assert.equal(ids.size, most, `track ids ${[...ids].join(",")} for at most ${most} faces a frame`);
    for (const [i, f] of frames.entries()) {
      const own = f.faces.map((x) => x.trackId);
      assert.equal(new Set(own).size, own.length, `frame ${i}: one face per track`);
    }
    assert.equal(json.tracks.length, most);
  },
});

Deno.test.afterAll(async () => {
  await setup?.server.shutdown();
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
});
