/**
 * `deno task bench:accuracy` scores what the API answers: on the folder fixture set its predictions through the
 * registry and `analyzeImages` (detect=false) equal `train eval`'s on the same images with the same model, and
 * a `labels.csv` set reads the same as its folder-per-class twin.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { evaluateOnnx } from "../../train/eval.ts";
import { readFolder } from "../../train/data/folder.ts";
import { createFaceDetector } from "../../src/faces/pipeline.ts";
import { loadRegistry } from "../../src/registry.ts";
import { CANONICAL_LABELS } from "../../model/spec.ts";
import { faceModelDir } from "../faces/models.ts";
import { FIXTURES } from "../train/data/helpers.ts";
import { measureModel, readLabelledSet } from "./accuracy_run.ts";

const SET = join(FIXTURES, "folder", "val");

Deno.test("bench:accuracy gives the same predictions as train eval on the folder fixtures", async () => {
  const modelDir = await faceModelDir();
  const images = await readLabelledSet(SET);
  assert.equal(images.length, 7);
  const faces = await createFaceDetector({ modelDir });
  const registry = await loadRegistry({ modelDir, createFaces: () => Promise.resolve(faces) });
  try {
    const bench = await measureModel(registry, "faceapi-expression", images, { concurrency: 3 });
    const { samples } = await readFolder(join(FIXTURES, "folder"), { split: "val" });
    const train = await evaluateOnnx(samples, {
      manifestPath: join(modelDir, "face-expression.manifest.json"),
      labels: CANONICAL_LABELS,
    });
    const byPath = new Map(samples.map((s, i) => [s.path, CANONICAL_LABELS[train.predictions[i]]]));
    assert.deepEqual(
      images.map((im, i) => [im.path, CANONICAL_LABELS[bench.predictions[i]]]),
      images.map((im) => [im.path, byPath.get(im.path)]),
    );
    assert.deepEqual(bench.metrics.confusion, train.metrics.confusion);
    assert.equal(bench.facesFoundRate, 1);
    assert.ok(bench.calibration.ece >= 0 && bench.calibration.ece <= 1);
  } finally {
    await faces.pipeline.release();
    await registry.close();
  }
});

Deno.test("readLabelledSet() reads labels.csv (header, synonyms) like the folder layout", async () => {
  const folder = await readLabelledSet(SET);
  const dir = await Deno.makeTempDir({ prefix: "scan-fer-acc-" });
  try {
    const names = ["Neutral", "angry", "disgust", "fear", "happy", "sad", "surprise"];
    const lines = folder.map((im) => `${relative(dir, im.path)},${names[im.label]}`);
    await Deno.writeTextFile(join(dir, "labels.csv"), ["path,label", ...lines].join("\n") + "\n");
    assert.deepEqual(
      await readLabelledSet(dir),
      folder.map((im) => ({ ...im, path: join(dir, relative(dir, im.path)) })),
    );
    await Deno.writeTextFile(join(dir, "labels.csv"), "path,label\na.jpg,smirk\n");
    await assert.rejects(() => readLabelledSet(dir), /line 2 has label "smirk"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
