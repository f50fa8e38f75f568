/**
 * `deno task annotate` (src/annotate.ts) as a process, with the task's own permissions, over videos made here
 * with ffmpeg and the tiny test model: one result file per video in the job results endpoint's format (the
 * same frames a real server on loopback answers for the same upload), a failing video named on stderr (exit
 * 1), a rerun that skips what is done, shards that split a folder between two processes (one shard from
 * JOB_COMPLETION_INDEX, as a Kubernetes Indexed Job sets it), bad arguments (exit 2), and SIGINT: the video in
 * progress is finished and written whole, the rest left for the next run (exit 130; SIGTERM 143).
 * Skipped off CI when ffmpeg is not installed (see tests/fixtures/videos.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { JobResults } from "../../openapi/schemas.ts";
import { shardOf } from "../../src/annotate.ts";
import { makeVideo, probeCount, SKIP_WITHOUT_FFMPEG } from "../fixtures/videos.ts";
import { startLoopbackServer, tinyModelDir } from "./fixtures.ts";

const ignore = SKIP_WITHOUT_FFMPEG;

/** The permission flags of the `annotate` task in deno.json (the test runs it as users do). */
const PERMISSIONS: string[] = (() => {
  const tasks = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url))).tasks;
  return (tasks.annotate as string).split(/\s+/).filter((a) => a.startsWith("--"));
})();
const CLI = new URL("../../src/annotate.ts", import.meta.url).pathname;

function command(args: string[], env: Record<string, string>): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, CLI, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  });
}

interface Run {
  code: number;
  stderr: string;
  summary: {
    videos: number;
    done: number;
    skipped: number;
    failed: { video: string }[];
    interrupted?: string;
  };
}

async function annotate(args: string[], env: Record<string, string>): Promise<Run> {
  const out = await command(args, env).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  const stderr = new TextDecoder().decode(out.stderr);
  return { code: out.code, stderr, summary: stdout ? JSON.parse(stdout.split("\n").pop()!) : undefined! };
}

/** Every file under `dir`, relative, sorted. */
async function files(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await files(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out.sort();
}

const tmp = await Deno.makeTempDir({ prefix: "fer-annotate-cli-" });
const setup = ignore ? undefined : await (async () => {
  const modelDir = await tinyModelDir("fer-annotate-models-");
  const input = join(tmp, "in");
  await Deno.mkdir(join(input, "sub"), { recursive: true });
  await makeVideo(input, "a.mp4", { seconds: 2 });
  await makeVideo(join(input, "sub"), "b.webm", { seconds: 1, codec: "vp9" });
  await Deno.writeTextFile(join(input, "notes.txt"), "not a video, not listed");
  return { modelDir, input, env: { MODEL_DIR: modelDir } };
})();
const COMMON = ["--model", "tiny", "--detector", "tiny", "--fps", "5"];

Deno.test({
  name: "annotate: one file per video as the results endpoint answers it; a bad video is exit 1; reruns skip",
  ignore,
  async fn() {
    const { input, env, modelDir } = setup!;
    const bad = join(input, "sub", "broken.mkv");
    await Deno.writeTextFile(bad, "this is no matroska file");
    const out = join(tmp, "out-json");
    try {
      const first = await annotate(["--input", input, "--out", out, ...COMMON], env);
      assert.equal(first.code, 1, first.stderr);
      // (ffprobe messages say "the upload", not a path: the file is named by the FAILED line itself)
      assert.match(first.stderr, /FAILED sub\/broken\.mkv: Cannot read video: /);
      assert.deepEqual([first.summary.videos, first.summary.done, first.summary.skipped], [3, 2, 0]);
      assert.deepEqual(first.summary.failed.map((f) => f.video), ["sub/broken.mkv"]);
      assert.deepEqual(await files(out), ["a.mp4.json", "sub/b.webm.json"]);

      for (
        const [name, video] of [["a.mp4", join(input, "a.mp4")], ["sub/b.webm", join(input, "sub", "b.webm")]]
      ) {
        const result = JobResults.strict().parse(
          JSON.parse(await Deno.readTextFile(join(out, `${name}.json`))),
        );
        assert.equal(result.model.id, "tiny");
        assert.equal(result.frames.length, await probeCount(video, 5), name);
        assert.deepEqual(result.frames.map((f) => f.index), [...result.frames.keys()]);
        assert.ok(result.frames.some((f) => f.faces.length > 0), `${name}: no face found`);
      }

      // Tracking and smoothing flags reach the job as the endpoint's query options do.
      const emaOut = join(tmp, "out-ema");
      const ema = await annotate([
        "--input",
        join(input, "a.mp4"),
        "--out",
        emaOut,
        ...COMMON,
        "--smoothing",
        "ema",
        "--alpha",
        "0.3",
      ], env);
      assert.equal(ema.code, 0, ema.stderr);

      // The same upload through a real server on loopback gives the same frames and tracks.
      const server = startLoopbackServer(modelDir, { DATA_DIR: join(tmp, "server-data") });
      await server.ready;
      try {
        const base = `http://127.0.0.1:${server.port}`;
        const viaApi = async (query: string) => {
          const res = await fetch(`${base}/v1/videos?model=tiny&detector=tiny&fps=5${query}`, {
            method: "POST",
            body: await Deno.readFile(join(input, "a.mp4")),
            headers: { "content-type": "video/mp4" },
          });
          assert.equal(res.status, 202);
          const { id } = await res.json();
          let job;
          do {
            await new Promise((r) => setTimeout(r, 200));
            job = await (await fetch(`${base}/v1/jobs/${id}`)).json();
          } while (["queued", "running"].includes(job.status));
          return await (await fetch(`${base}/v1/jobs/${id}/results`)).json();
        };
        const api = await viaApi("");
        const cli = JSON.parse(await Deno.readTextFile(join(out, "a.mp4.json")));
        assert.deepEqual({ ...cli, job: undefined }, { ...api, job: undefined });
        const apiEma = await viaApi("&smoothing=ema&alpha=0.3");
        const cliEma = JSON.parse(await Deno.readTextFile(join(emaOut, "a.mp4.json")));
        assert.deepEqual({ ...cliEma, job: undefined }, { ...apiEma, job: undefined });
        assert.notDeepEqual(cliEma.frames, cli.frames, "smoothing changed nothing");
      } finally {
        await server.shutdown();
      }

      // A rerun skips the written files and tries the failed one again; once it is gone the run is clean. The
      // temporary file a killed run (kill -9) left for a video is cleared when that video is done again.
      const mtime = (await Deno.stat(join(out, "a.mp4.json"))).mtime;
      await Deno.writeTextFile(join(out, "sub", "broken.mkv.json.partial-999999"), '{"half');
      const again = await annotate(["--input", input, "--out", out, ...COMMON], env);
      assert.equal(again.code, 1);
      assert.deepEqual([again.summary.done, again.summary.skipped], [0, 2]);
      assert.deepEqual((await Deno.stat(join(out, "a.mp4.json"))).mtime, mtime);
      await Deno.remove(bad);
      const clean = await annotate(["--input", input, "--out", out, ...COMMON], env);
      assert.equal(clean.code, 0, clean.stderr);
      assert.deepEqual([clean.summary.videos, clean.summary.done, clean.summary.skipped], [2, 0, 2]);
      assert.deepEqual(await files(out), ["a.mp4.json", "sub/b.webm.json"]);

      // NDJSON: one frame per line, the frames of the JSON file; one file as --input.
      const nd = join(tmp, "out-ndjson");
      const one = await annotate([
        "--input",
        join(input, "a.mp4"),
        "--out",
        nd,
        ...COMMON,
        "--format",
        "ndjson",
      ], env);
      assert.equal(one.code, 0, one.stderr);
      const lines = (await Deno.readTextFile(join(nd, "a.mp4.ndjson"))).trimEnd().split("\n").map((l) =>
        JSON.parse(l)
      );
      assert.deepEqual(lines, JSON.parse(await Deno.readTextFile(join(out, "a.mp4.json"))).frames);
    } finally {
      await Deno.remove(bad).catch(() => {});
    }
  },
});

Deno.test({
  name: "annotate: two shards (one from JOB_COMPLETION_INDEX) split the folder by the hash, each video once",
  ignore,
  async fn() {
    const { input, env } = setup!;
    const dir = join(tmp, "shards-in");
    await Deno.mkdir(dir);
    const names = ["c1.mp4", "c2.mp4", "c3.mp4", "c4.mp4", "c5.mp4"];
    const clip = join(input, "sub", "b.webm");
    for (const n of names) await Deno.link(clip, join(dir, n.replace(".mp4", ".webm")));
    const out = join(tmp, "shards-out");
    const [zero, one] = await Promise.all([
      annotate(["--input", dir, "--out", out, ...COMMON, "--shards", "2", "--shard", "0"], env),
      annotate(["--input", dir, "--out", out, ...COMMON, "--shards", "2"], {
        ...env,
        JOB_COMPLETION_INDEX: "1",
      }),
    ]);
    assert.equal(zero.code, 0, zero.stderr);
    assert.equal(one.code, 0, one.stderr);
    const all = names.map((n) => n.replace(".mp4", ".webm"));
    assert.equal(zero.summary.done + one.summary.done, all.length);
    assert.deepEqual(await files(out), all.map((n) => `${n}.json`).sort());
    for (const [run, shard] of [[zero, 0], [one, 1]] as const) {
      assert.equal(run.summary.videos, all.filter((n) => shardOf(n, 2) === shard).length);
      for (const n of all) assert.equal(run.stderr.includes(`done ${n} `), shardOf(n, 2) === shard, n);
    }
  },
});

Deno.test({
  name: "annotate: bad arguments, an unknown model or a missing input are exit 2 with the usage",
  ignore,
  async fn() {
    const { input, env } = setup!;
    const out = join(tmp, "never");
    const cases: [string[], RegExp][] = [
      [["--out", out], /--input is required/],
      [["--input", input, "--out", out, "--every", "2", "--fps", "5"], /alternatives/],
      [["--input", input, "--out", out, "--shards", "3", "--shard", "3"], /Cannot shard/],
      [["--input", join(tmp, "nothing-here"), "--out", out], /does not exist/],
      [["--input", input, "--out", out, "--model", "no-such-model"], /no-such-model/],
    ];
    for (const [args, message] of cases) {
      const r = await annotate(args, env);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, message, args.join(" "));
    }
    await assert.rejects(() => Deno.stat(out), Deno.errors.NotFound);
  },
});

Deno.test({
  name:
    "annotate: SIGINT finishes and writes the video in progress, leaves the rest, exits 130; a rerun completes",
  ignore,
  async fn() {
    const { env } = setup!;
    const dir = join(tmp, "sigint-in");
    await Deno.mkdir(dir);
    for (const n of ["v1.mp4", "v2.mp4", "v3.mp4"]) await makeVideo(dir, n, { seconds: 3 });
    const out = join(tmp, "sigint-out");
    // Every source frame (25 fps): long enough that the second video is still running when the signal comes.
    const args = ["--input", dir, "--out", out, "--model", "tiny", "--detector", "tiny"];
    const child = command(args, env).spawn();
    const stdout = new Response(child.stdout).text();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let stderr = "";
    while (!stderr.includes("done v1.mp4")) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    child.kill("SIGINT");
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    const status = await child.status;
    const summary = JSON.parse((await stdout).trim());
    assert.equal(status.code, 130, stderr);
    assert.equal(summary.interrupted, "SIGINT");
    assert.match(stderr, /SIGINT: finishing the video in progress/);
    assert.equal(summary.done, 2, stderr);
    assert.deepEqual(
      await files(out),
      ["v1.mp4.json", "v2.mp4.json"],
      "v2 written whole, v3 left, no temporary files",
    );
    const v2 = JobResults.parse(JSON.parse(await Deno.readTextFile(join(out, "v2.mp4.json"))));
    assert.equal(v2.frames.length, 3 * 25, "every frame makeVideo wrote (3 s at 25 fps)");

    const rest = await annotate(args, env);
    assert.equal(rest.code, 0, rest.stderr);
    assert.deepEqual([rest.summary.done, rest.summary.skipped], [1, 2]);
    assert.deepEqual(await files(out), ["v1.mp4.json", "v2.mp4.json", "v3.mp4.json"]);
  },
});

Deno.test({
  name: "annotate: SIGTERM (what Kubernetes sends) is handled the same way and exits 143 with the summary",
  ignore,
  async fn() {
    const { input, env } = setup!;
    const out = join(tmp, "sigterm-out");
    const child = command(["--input", input, "--out", out, ...COMMON], env).spawn();
    const stdout = new Response(child.stdout).text();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let stderr = "";
    while (!stderr.includes("annotate: done")) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    child.kill("SIGTERM");
    for (let r = await reader.read(); !r.done; r = await reader.read()) stderr += r.value;
    const status = await child.status;
    const summary = JSON.parse((await stdout).trim());
    assert.equal(status.code, 143, stderr);
    assert.equal(summary.interrupted, "SIGTERM");
    assert.equal((await files(out)).length, summary.done, "every finished video written, nothing partial");
  },
});

Deno.test.afterAll(async () => {
  if (setup) await Deno.remove(setup.modelDir, { recursive: true }).catch(() => {});
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
});
