/**
 * `deno task bench:loop [--keys 2400000] [--clients 4] [--seconds 6] [--videos 0] [--frames 256] [--frame-px 320]`
 *
 * How responsive the server's event loop stays under a hostile JSON body (issue 10, finding 2). The server runs
 * as a subprocess (like production) over the face-api ports and the tiny expression model; a probe sends
 * `GET /healthz` one after another (10 ms apart) throughout. Two phases:
 * 1. idle: the probe alone, for the baseline;
 * 2. hostile: one JSON body of `--keys` short keys (`{"0000a":0,...}`, 10 bytes a key: 2.4 M keys ~ 24 MB) to
 *    `POST /v1/expressions`, while `--clients` photo clients post face-api's demo photos in a loop.
 * `--videos N` adds N clients that each post `--frames` video frames (a demo photo resized to `--frame-px`, JPEG)
 * to `POST /v1/videos/frames` in a loop; a video still running when the time is up is abandoned (the client
 * disconnects), which the server must cancel.
 * `--keys 0` sends no hostile body (the photo clients' own share of the probe's latency). Prints the probe's
 * p50/p99/max per phase, the hostile body's status, code and time, the photos answered, and one JSON line. Figures are rough on a shared machine: compare the two phases of one run.
 */
import { parseArgs } from "node:util";
import sharp from "sharp";
import { demoPhoto, serverCommand, tinyModelDir } from "../api/fixtures.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    keys: { type: "string", default: "2400000" },
    clients: { type: "string", default: "4" },
    seconds: { type: "string", default: "6" },
    videos: { type: "string", default: "0" },
    frames: { type: "string", default: "256" },
    "frame-px": { type: "string", default: "320" },
  },
});
const KEYS = Number(values.keys), CLIENTS = Number(values.clients), SECONDS = Number(values.seconds);
const VIDEOS = Number(values.videos), FRAMES = Number(values.frames), FRAME_PX = Number(values["frame-px"]);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `{"0000a":0,...}`: `keys` distinct 5-character keys, 10 bytes each. */
function manyKeys(keys: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(keys * 10 + 1);
  const enc = new TextEncoder();
  out[0] = 0x7b; // {
  for (let i = 0; i < keys; i++) {
    enc.encodeInto(`"${i.toString(36).padStart(5, "0")}":0,`, out.subarray(1 + i * 10));
  }
  out[out.length - 1] = 0x7d; // } over the last comma
  return out;
}

/** The server settings under test, from this process's environment (e.g. `INFERENCE_WORKER=off`). */
function serverEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["INFERENCE_WORKER", "COMPUTE_NICE", "THREAD_SPINNING"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

const dir = await tinyModelDir("fer-bench-loop-");
const child = serverCommand({ MODEL_DIR: dir, DEFAULT_MODEL: "tiny", ...serverEnv() }, {
  stdout: "piped",
  stderr: "null",
}).spawn();
const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let port = 0;
for (let buf = ""; !port;) {
  const { value, done } = await reader.read();
  if (done) throw new Error("Cannot bench: the server exited before listening");
  buf += value;
  const m = buf.match(/"port":(\d+)/);
  if (m) port = Number(m[1]);
}
(async () => {
  while (!(await reader.read()).done) { /* drain logs */ }
})();
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 600; i++) {
  const r = await fetch(`${base}/readyz`).catch(() => undefined);
  await r?.body?.cancel();
  if (r?.status === 200) break;
  await sleep(100);
}

/** Probes /healthz until `stop` is set; returns the latencies in ms. */
async function probe(stop: { done: boolean }): Promise<number[]> {
  const ms: number[] = [];
  while (!stop.done) {
    const t = performance.now();
    const r = await fetch(`${base}/healthz`);
    await r.body?.cancel();
    ms.push(performance.now() - t);
    await sleep(10);
  }
  return ms;
}

try {
  const idleStop = { done: false };
  const idleRun = probe(idleStop);
  await sleep(2000);
  idleStop.done = true;
  const idle = await idleRun;

  const body = manyKeys(KEYS);
  const stop = { done: false };
  const probing = probe(stop);
  let photos = 0;
  const clients = Array.from({ length: CLIENTS }, async (_, k) => {
    while (!stop.done) {
      const r = await fetch(`${base}/v1/expressions`, {
        method: "POST",
        body: demoPhoto(((k % 6) + 1) as 1 | 2 | 3 | 4 | 5 | 6),
        headers: { "content-type": "image/jpeg" },
      });
      await r.body?.cancel();
      if (r.ok) photos++;
    }
  });
  // Video clients: one multipart request of FRAMES frames after another; abandoned when the time is up.
  const frame = VIDEOS > 0
    ? await sharp(demoPhoto(1)).resize(FRAME_PX, FRAME_PX, { fit: "inside" }).jpeg({ quality: 85 }).toBuffer()
    : new Uint8Array();
  const videoStatus: number[] = [];
  let videosAbandoned = 0;
  const abandon = new AbortController();
  const videos = Array.from({ length: VIDEOS }, async () => {
    while (!stop.done) {
      const form = new FormData();
      for (let i = 0; i < FRAMES; i++) {
        form.append("frames", new File([frame], `f${i}.jpg`, { type: "image/jpeg" }));
      }
      try {
        const r = await fetch(`${base}/v1/videos/frames?track=true`, {
          method: "POST",
          body: form,
          signal: abandon.signal,
        });
        await r.body?.cancel();
        videoStatus.push(r.status);
      } catch {
        videosAbandoned++;
      }
    }
  });
  await sleep(200);
  const t = performance.now();
  const res = KEYS > 0
    ? await fetch(`${base}/v1/expressions`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    })
    : undefined;
  const problem = res ? await res.json().catch(() => ({})) : {};
  const hostileMs = performance.now() - t;
  await sleep(Math.max(0, SECONDS * 1000 - hostileMs));
  stop.done = true;
  const loaded = await probing;
  abandon.abort();
  await Promise.all([...clients, ...videos]);

  const row = (name: string, xs: number[]) =>
    `${name.padEnd(8)} n=${String(xs.length).padStart(4)}  p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms  ` +
    `p99 ${pct(xs, 99).toFixed(1).padStart(7)} ms  max ${Math.max(...xs).toFixed(1).padStart(7)} ms`;
  const hostile = KEYS > 0 ? `hostile body ${body.length} bytes, ${KEYS} keys` : "no hostile body";
  console.log(`/healthz probe (${CLIENTS} photo clients; ${hostile})`);
  console.log(row("idle", idle));
  console.log(row(KEYS > 0 ? "hostile" : "loaded", loaded));
  if (res) {
    console.log(
      `hostile body: ${res.status} ${problem.code ?? ""} after ${hostileMs.toFixed(0)} ms: ${
        problem.detail ?? ""
      }`,
    );
  }
  console.log(`photos answered 200 meanwhile: ${photos}`);
  if (VIDEOS > 0) {
    console.log(
      `videos (${VIDEOS} clients, ${FRAMES} frames of ${FRAME_PX} px): answered [${
        videoStatus.join(", ")
      }], ${videosAbandoned} abandoned at the end`,
    );
  }
  console.log(JSON.stringify({
    keys: KEYS,
    bodyBytes: body.length,
    clients: CLIENTS,
    idle: { n: idle.length, p50: pct(idle, 50), p99: pct(idle, 99) },
    hostile: { n: loaded.length, p50: pct(loaded, 50), p99: pct(loaded, 99), max: Math.max(...loaded) },
    hostileStatus: res?.status,
    hostileCode: problem.code,
    hostileMs,
    photos,
    videos: VIDEOS,
    frames: FRAMES,
    videoStatus,
    videosAbandoned,
    server: serverEnv(),
  }));
} finally {
  child.kill("SIGTERM");
  await child.status;
  await Deno.remove(dir, { recursive: true });
}
