/**
 * The parts of `deno task annotate` (src/annotate.ts) that need no video: argument parsing (and exit-2 cases),
 * the shard hash (pinned: changing it would reshuffle the shards of a half-done run), the folder walk, the
 * atomic write, and that its analysis defaults are those of `POST /v1/videos`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ANNOTATE_DEFAULTS,
  listVideos,
  parseAnnotateArgs,
  resultPath,
  shardOf,
  UsageError,
  writeAtomic,
} from "../../src/annotate.ts";
import { VideoJobOptions } from "../../openapi/schemas.ts";
import { DEFAULT_DETECTOR } from "../../src/faces/detectors.ts";

Deno.test("parseAnnotateArgs: defaults, sampling, shards from --shard or JOB_COMPLETION_INDEX", () => {
  assert.deepEqual(parseAnnotateArgs(["--input", "in", "--out", "out"]), {
    input: "in",
    out: "out",
    detector: DEFAULT_DETECTOR,
    format: "json",
    video: {},
    shards: 1,
    shard: 0,
  });
  assert.deepEqual(
    parseAnnotateArgs([
      "--input",
      "i",
      "--out",
      "o",
      "--track",
      "false",
      "--smoothing",
      "ema",
      "--alpha",
      "0.25",
      "--window",
      "9",
    ]).video,
    { track: false, smoothing: "ema", alpha: 0.25, window: 9 },
  );
  const a = parseAnnotateArgs(
    ["--input", "v.mp4", "--out", "o", "--model", "m", "--every", "5", "--format", "ndjson", "--shards", "4"],
    { JOB_COMPLETION_INDEX: "3" },
  );
  assert.deepEqual([a.model, a.every, a.fps, a.format, a.shards, a.shard], [
    "m",
    5,
    undefined,
    "ndjson",
    4,
    3,
  ]);
  const b = parseAnnotateArgs(
    ["--input", "i", "--out", "o", "--fps", "2.5", "--shards", "2", "--shard", "1"],
    {
      JOB_COMPLETION_INDEX: "0",
    },
  );
  assert.deepEqual([b.fps, b.shard], [2.5, 1], "--shard wins over the environment");
});

Deno.test("parseAnnotateArgs: bad arguments are UsageErrors naming the argument", () => {
  const cases: [string[], RegExp][] = [
    [["--out", "o"], /--input is required/],
    [["--input", "i"], /--out is required/],
    [["--input", "i", "--out", "o", "--every", "2", "--fps", "5"], /alternatives/],
    [["--input", "i", "--out", "o", "--every", "0"], /--every: "0"/],
    [["--input", "i", "--out", "o", "--fps", "0"], /--fps: "0"/],
    [["--input", "i", "--out", "o", "--fps", "500"], /--fps: "500"/],
    [["--input", "i", "--out", "o", "--format", "xml"], /--format: "xml"/],
    [["--input", "i", "--out", "o", "--detector", "yolo"], /--detector: "yolo"/],
    [["--input", "i", "--out", "o", "--shards", "2"], /needs --shard I/],
    [["--input", "i", "--out", "o", "--shards", "2", "--shard", "2"], /not a whole number in \[0, 1\]/],
    [["--input", "i", "--out", "o", "--shard", "x", "--shards", "3"], /shard "x"/],
    [["--input", "i", "--out", "o", "--track", "yes"], /--track: "yes" is not true or false/],
    [
      ["--input", "i", "--out", "o", "--smoothing", "kalman"],
      /--smoothing: "kalman" is not none, ema, window/,
    ],
    [["--input", "i", "--out", "o", "--alpha", "0"], /--alpha: "0" is not a number in \(0, 1\]/],
    [["--input", "i", "--out", "o", "--alpha", "1.5"], /--alpha: "1.5"/],
    [["--input", "i", "--out", "o", "--window", "65"], /--window: "65" is above 64/],
    [["--input", "i", "--out", "o", "--window", "0"], /--window: "0"/],
    [["--input", "i", "--out", "o", "--bogus"], /bogus/],
    [["--input", "i", "--out", "o", "extra"], /extra/],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseAnnotateArgs(args),
      (e) => e instanceof UsageError && message.test(e.message),
      args.join(" "),
    );
  }
});

Deno.test("shardOf: the first 4 bytes of SHA-256 of the relative path, mod N; spread evenly", () => {
  assert.equal(shardOf("a.mp4", 2 ** 32), 0xe6d48eab);
  assert.equal(shardOf("sub/b.webm", 2 ** 32), 0xaa8ae703);
  assert.equal(shardOf("a.mp4", 4), 0xe6d48eab % 4);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[shardOf(`videos/clip-${i}.mp4`, 4)]++;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `uneven shards ${counts}`);
});

Deno.test("listVideos walks folders for video endings, sorted; resultPath keeps the relative path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-annotate-" });
  try {
    await Deno.mkdir(join(dir, "b", "c"), { recursive: true });
    for (const f of ["z.MP4", "a.webm", "notes.txt", "b/x.mkv", "b/c/y.avi", "b/c/y.avi.json"]) {
      await Deno.writeTextFile(join(dir, f), "");
    }
    const videos = await listVideos(dir);
    assert.deepEqual(videos.map((v) => v.relative), ["a.webm", "b/c/y.avi", "b/x.mkv", "z.MP4"]);
    assert.equal(videos[1].path, join(dir, "b", "c", "y.avi"));
    assert.deepEqual((await listVideos(join(dir, "b", "x.mkv"))).map((v) => v.relative), ["x.mkv"]);
    assert.equal(resultPath("/out", videos[1], "json"), "/out/b/c/y.avi.json");
    assert.equal(resultPath("/out", videos[1], "abaw"), "/out/b/c/y.avi.abaw.txt");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeAtomic: the file appears whole (folders made), replaces an old one, leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-annotate-" });
  try {
    const path = join(dir, "x", "y.mp4.json");
    await writeAtomic(path, "one");
    await writeAtomic(path, "two");
    assert.equal(await Deno.readTextFile(path), "two");
    assert.deepEqual([...Deno.readDirSync(join(dir, "x"))].map((e) => e.name), ["y.mp4.json"]);
    await assert.rejects(() => writeAtomic(join(path, "under-a-file"), "x"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ANNOTATE_DEFAULTS are the defaults POST /v1/videos fills in", () => {
  const { detector: _d, model: _m, fps: _f, start: _s, end: _e, webhook: _w, ...route } = VideoJobOptions
    .parse({});
  assert.deepEqual({ ...ANNOTATE_DEFAULTS }, route);
});
