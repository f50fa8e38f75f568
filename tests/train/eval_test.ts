import assert from "node:assert/strict";
import { join } from "node:path";
import { evaluateOnnx, writeEvalReport } from "../../train/eval.ts";
import { readFolder } from "../../train/data/folder.ts";
import { FIXTURES } from "./data/helpers.ts";
import { writeColourModel } from "./colour_model.ts";

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
