import assert from "node:assert/strict";
import { join } from "node:path";
import { evaluateOnnx, writeEvalReport } from "../../train/eval.ts";
import { readFolder } from "../../train/data/folder.ts";
import { FIXTURES } from "./data/helpers.ts";
import { writeColourModel } from "./colour_model.ts";
import sharp from "sharp";
import { writeArtifact } from "../../model/artifact.ts";
import { buildScanCci } from "../../model/scan_cci/build.ts";
import { buildFaceApiModels, FACEAPI_NETS } from "../../model/faceapi/nets.ts";
import { toTensor } from "../../model/preprocess.ts";
import { randomScanCci } from "../../model/scan_cci/random.ts";
import { prepareFaceInput } from "../../src/mod.ts";
import { decodeImage } from "../../src/image.ts";
import { openModel } from "../../src/session.ts";
import { readExpW } from "../../train/data/expw.ts";
import { readFer2013 } from "../../train/data/fer2013.ts";
import { DEFAULT_LABELS, type Sample } from "../../train/data/sample.ts";
import { DEMO_PHOTOS } from "../faces/models.ts";

const dir = await Deno.makeTempDir();
const manifestPath = await writeColourModel(dir);

Deno.test("evaluateOnnx() runs the ONNX model over a split and scores every frame", async () => {
  const { samples } = await readFolder(join(FIXTURES, "folder"), { split: "val" });
  let seen = 0;
  const r = await evaluateOnnx(samples, { manifestPath, batchSize: 3, onBatch: (n) => (seen += n) });
  assert.equal(seen, 7);
  // 7 images: one neutral image is coloured as happiness (a known miss); every other is read correctly.
  assert.equal(r.metrics.samples, 7);
  assert.ok(Math.abs(r.metrics.accuracy - 6 / 7) < 1e-9);
  assert.ok(Math.abs(r.metrics.per_class.neutral.recall - 2 / 3) < 1e-9);
  assert.ok(Math.abs(r.metrics.per_class.happiness.precision - 2 / 3) < 1e-9);
  assert.equal(r.metrics.confusion[0][4], 1);
  assert.deepEqual(r.model, { id: "colour-test", trained: false, provider: "cpu" });
  const out = await Deno.makeTempDir();
  const files = await writeEvalReport(out, r, { dataset: "folder", split: "val" });
  assert.equal(files.length, 3);
  const saved = JSON.parse(await Deno.readTextFile(join(out, "metrics.json")));
  assert.equal(saved.model.trained, false);
  assert.equal((await Deno.readTextFile(join(out, "predictions.txt"))).trim().split("\n").length, 7);
});

Deno.test("evaluateOnnx() refuses a model that lacks one of the run's classes", async () => {
  const other = await Deno.makeTempDir();
  const small = await writeColourModel(other, ["neutral", "anger", "disgust"]);
  const { samples } = await readFolder(join(FIXTURES, "folder"), { split: "val" });
  await assert.rejects(() => evaluateOnnx(samples, { manifestPath: small }), /the model has no class "fear"/);
});

Deno.test("evaluateOnnx() scores the face-api baseline (NHWC, pad-square, probabilities) and a tiny SCAN+CCI on one split", async () => {
  const models = await Deno.makeTempDir({ prefix: "scan-fer-eval-" });
  try {
    const [baseline] = await buildFaceApiModels({
      out: models,
      nets: FACEAPI_NETS.filter((n) => n.weights === "face_expression_model"),
    });
    const tiny = await buildScanCci({
      tensors: randomScanCci({ seed: 2, width: 16 }),
      labels: "affectnet",
      id: "tiny",
      source: "random-init seed 2",
      trained: false,
    });
    const scan = await writeArtifact(models, tiny);
    // Whole images (folder), face boxes in scenes (ExpW) and inline 48x48 gray pixels (FER2013).
    const samples: Sample[] = [
      ...(await readFolder(join(FIXTURES, "folder"), { split: "val" })).samples,
      ...(await readExpW(join(FIXTURES, "expw"))).samples,
      ...(await readFer2013(join(FIXTURES, "fer2013"), { split: "all" })).samples,
      // Real photos, so the baseline predicts several classes (the synthetic fixtures all read as neutral).
      ...DEMO_PHOTOS.map((path) => ({ path, label: 0, dataset: "demo", split: "val", source: path })),
    ];
    const base = await evaluateOnnx(samples, { manifestPath: baseline.manifestPath, batchSize: 4 });
    assert.equal(base.metrics.samples, samples.length);
    assert.equal(base.model.id, "faceapi-expression");

    // Reference: each image alone through serving's face-api crop, the probabilities read BY NAME.
    const session = await openModel(baseline.manifestPath);
    const spec = session.manifest.input;
    const expected: number[] = [];
    for (const s of samples) {
      const image = s.pixels
        ? await decodeImage(
          await sharp(s.pixels.data, { raw: { ...s.pixels, channels: 1 } }).png().toBuffer(),
        )
        : await decodeImage(await Deno.readFile(s.path));
      const x = toTensor(prepareFaceInput(image, s.box ? { box: s.box, score: 1 } : null, spec), spec);
      const p = (await session.run({ image: { data: x, dims: [1, 112, 112, 3] } })).probabilities.data;
      const byName = DEFAULT_LABELS.map((name) => p[session.manifest.labels.indexOf(name)]);
      expected.push(byName.indexOf(Math.max(...byName)));
    }
    await session.release();
    assert.deepEqual(base.predictions, expected);
    assert.ok(new Set(expected).size >= 3, `several classes predicted: ${expected}`);

    // Labels map by name: another class order for the run gives the same predicted names.
    const reversed = [...DEFAULT_LABELS].reverse();
    const again = await evaluateOnnx(samples, { manifestPath: baseline.manifestPath, labels: reversed });
    assert.deepEqual(
      again.predictions.map((i) => reversed[i]),
      base.predictions.map((i) => DEFAULT_LABELS[i]),
    );

    const own = await evaluateOnnx(samples, { manifestPath: scan.manifestPath, batchSize: 8 });
    assert.equal(own.metrics.samples, samples.length);
    assert.deepEqual(own.model, { id: "tiny", trained: false, provider: "cpu" });
  } finally {
    await Deno.remove(models, { recursive: true });
  }
});
