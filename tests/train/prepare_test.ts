import assert from "node:assert/strict";
import { join } from "node:path";
import { readExpW } from "../../train/data/expw.ts";
import { readPrepared } from "../../train/data/prepared.ts";
import { loadImage } from "../../train/data/images.ts";
import { DEMO_PHOTOS, faceModelDir } from "../faces/models.ts";
import {
  type AlignFn,
  cropAligner,
  faceAligner,
  mergeShards,
  parseShard,
  prepareDataset,
  sampleKey,
  shardOf,
} from "../../train/prepare.ts";
import { FIXTURES } from "./data/helpers.ts";

const ROOT = join(FIXTURES, "expw");
const { samples } = await readExpW(ROOT);

Deno.test("prepareDataset() writes 224x224 crops and a manifest that readPrepared() reads back", async () => {
  const out = await Deno.makeTempDir();
  const r = await prepareDataset(samples, { outDir: out, align: cropAligner(), root: ROOT });
  assert.deepEqual([r.written, r.alreadyDone, r.skipped], [3, 0, []]);
  const back = await readPrepared(out);
  assert.deepEqual(back.samples.map((s) => s.label).sort(), samples.map((s) => s.label).sort());
  assert.deepEqual(back.samples.map((s) => s.dataset), ["expw", "expw", "expw"]);
  const happy = back.samples.find((s) => s.label === 4)!;
  assert.equal(happy.source, "label/label.lst:1");
  const img = await loadImage(happy);
  assert.deepEqual([img.width, img.height], [224, 224]);
  assert.ok(img.data[112 * 224 * 3 + 112 * 3] > 200, "happiness crop is red (box crop, not the gray scene)");
  const lines = (await Deno.readTextFile(join(out, "manifest.jsonl"))).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.ok(lines.every((l) => l.method === "box" && l.path.startsWith("images/expw/")));
});

Deno.test("prepareDataset() resumes: skips done items and cuts a torn last line", async () => {
  const out = await Deno.makeTempDir();
  await prepareDataset(samples.slice(0, 2), { outDir: out, align: cropAligner(), root: ROOT });
  await Deno.writeTextFile(join(out, "manifest.jsonl"), '{"key":"deadbe', { append: true });
  let calls = 0;
  const counting: AlignFn = (bytes, s) => {
    calls++;
    return cropAligner()(bytes, s);
  };
  const r = await prepareDataset(samples, { outDir: out, align: counting, root: ROOT });
  assert.deepEqual([r.written, r.alreadyDone, calls], [1, 2, 1]);
  const lines = (await Deno.readTextFile(join(out, "manifest.jsonl"))).trim().split("\n");
  assert.equal(lines.length, 3);
  lines.forEach((l) => JSON.parse(l));
});

Deno.test("prepareDataset() records skips (no face, unreadable) so a resumed run does not retry them", async () => {
  const out = await Deno.makeTempDir();
  const noFace: AlignFn = (_b, s) =>
    Promise.resolve(s.label === 4 ? { skip: "no face found" } : cropAligner()(_b, s));
  const withBad = [...samples, {
    ...samples[0],
    path: join(ROOT, "image/origin/absent.jpg"),
    source: "x:99",
  }];
  const r = await prepareDataset(withBad, { outDir: out, align: noFace, root: ROOT });
  assert.equal(r.written, 2);
  assert.deepEqual(r.skipped.slice().sort((a, b) => a.reason.localeCompare(b.reason)), [
    { reason: "no face found", count: 1 },
    { reason: "unreadable image", count: 1 },
  ]);
  const again = await prepareDataset(withBad, { outDir: out, align: noFace, root: ROOT });
  assert.deepEqual([again.written, again.alreadyDone], [0, 4]);
  const back = await readPrepared(out);
  assert.equal(back.samples.length, 2);
  assert.deepEqual(back.skipped.map((s) => s.count), [1, 1]);
});

Deno.test("prepareDataset() shards are a deterministic partition and mergeShards() combines them", async () => {
  const out = await Deno.makeTempDir();
  const many = Array.from(
    { length: 12 },
    (_, i) => ({ ...samples[i % 3], source: `${ROOT}/label/label.lst:${i + 1}` }),
  );
  const a = await prepareDataset(many, {
    outDir: out,
    align: cropAligner({ size: 32 }),
    root: ROOT,
    shard: parseShard("0/2"),
  });
  const b = await prepareDataset(many, {
    outDir: out,
    align: cropAligner({ size: 32 }),
    root: ROOT,
    shard: parseShard("1/2"),
  });
  assert.equal(a.written + b.written, 12);
  assert.equal(a.otherShards, b.written);
  const keys = await Promise.all(many.map((s) => sampleKey(s, ROOT)));
  assert.equal(keys.filter((k) => shardOf(k, 2) === 0).length, a.written);
  const merged = await mergeShards(out);
  assert.deepEqual([merged.entries, merged.shards], [12, 2]);
  const lines = (await Deno.readTextFile(merged.manifest)).trim().split("\n").map((l) => JSON.parse(l).key);
  assert.deepEqual(lines, [...keys].sort());
  assert.equal((await readPrepared(out)).samples.length, 12);
  assert.throws(() => parseShard("2/2"), /expected i\/N with 0 <= i < N/);
  const empty = await Deno.makeTempDir();
  await assert.rejects(() => mergeShards(empty), /no manifest\.shard-\*\.jsonl/);
});

Deno.test("faceAligner() aligns a detected face, falls back to the box crop, and skips faceless images", async () => {
  const { align, release } = await faceAligner({ modelDir: await faceModelDir() });
  try {
    const photo = await Deno.readFile(DEMO_PHOTOS[0]);
    const base = { label: 4, dataset: "folder", split: "train", source: "x:1" };
    const face = await align(photo, { ...base, path: DEMO_PHOTOS[0] });
    assert.ok("pixels" in face, JSON.stringify(face));
    assert.equal(face.method, "aligned");
    assert.deepEqual([face.pixels.width, face.pixels.height, face.pixels.channels], [224, 224, 3]);
    const blank = await Deno.readFile(join(FIXTURES, "expw/image/origin/s2.jpg"));
    const noBox = await align(blank, { ...base, path: "s2.jpg" });
    assert.deepEqual(noBox, { skip: "no face found" });
    const withBox = await align(blank, {
      ...base,
      path: "s2.jpg",
      box: { x: 10, y: 6, width: 20, height: 20 },
    });
    assert.ok("pixels" in withBox && withBox.method === "box");
  } finally {
    await release();
  }
});
