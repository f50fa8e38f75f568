/**
 * A real learning run as a benchmark (deno task bench:learn): trains SCAN+CCI on `DIR/train` (folder per class,
 * e.g. FER2013's 48x48 crops) with the paper's recipe shape (imbalanced sampler, flip + colour jitter, two
 * learning rates decayed per epoch, SGD momentum, weight decay) for a wall-clock budget, validating each epoch
 * on a stratified held-out part of the training set and keeping the best epoch by macro F1; exports that
 * checkpoint with the trainer's export; then scores `DIR/public-test` twice with the same ONNX model: through
 * the serving path in-process (src/registry.ts loadRegistry + src/classify.ts classifyFaces on the decoded image,
 * the whole image as the face, as the API does with detect=false) and through `train eval`'s evaluateOnnx.
 * Prints the learning curve, both figures and their difference (they should agree within 0.5 points: same
 * crop, resize and normalisation). Then `train gradcam` (train/gradcam.ts) on ten public-test crops spread over
 * the classes writes heatmap overlays to `--out/gradcam/` (`NN-<true>-as-<predicted>-gradcam.png`, listed in
 * `gradcam.json`), to look at where the trained model attends. Everything goes under --out (default artifacts/bench-learn, gitignored):
 * the dataset's licence allows research and evaluation use only, so nothing of it is ever committed.
 *
 *   deno task bench:learn --data DIR [--width 16] [--minutes 10] [--out artifacts/bench-learn]
 *     [--batch 16] [--val-fraction 0.02] [--epoch-samples 640] [--optimizer adamw|sgd]
 *     [--lr-backbone 0.002] [--lr-heads 0.004] [--schedule step|cosine] [--workers auto|N]
 *
 * The optimiser defaults to AdamW at 2e-3 / 4e-3 instead of the paper's SGD at 1e-4 / 1e-3: the paper fine-tunes
 * a VGGFace2-pretrained backbone, a reduced-width model here starts from random weights (the pretrained weights
 * exist at full width only), and from random weights SGD fitted 70 FER2013 crops more slowly than AdamW in the
 * same number of steps (train/README.md). `--schedule cosine` anneals both rates to 0 over the time budget
 * (progress = elapsed / budget) instead of the paper's x0.95 per pass. An epoch is `--epoch-samples` draws of the sampler, so the curve has points inside a short budget.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { parseConfig } from "../../train/config.ts";
import { fit } from "../../train/fit.ts";
import { exportModel } from "../../train/export.ts";
import { evaluateOnnx } from "../../train/eval.ts";
import { gradcam } from "../../train/gradcam.ts";
import { computeMetrics } from "../../train/metrics.ts";
import { readDataset } from "../../train/data/read.ts";
import { loadImages } from "../../train/data/images.ts";
import { epochPoints, historyJson } from "../../train/commands/fit.ts";
import { renderModelCard } from "../../train/model_card.ts";
import { writePlots } from "../../train/plots.ts";
import { CANONICAL_LABELS } from "../../model/spec.ts";
import { loadRegistry } from "../../src/registry.ts";
import { classifyFaces } from "../../src/classify.ts";
import { decodeImage, prepareFaceInput } from "../../src/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    data: { type: "string" },
    width: { type: "string", default: "16" },
    minutes: { type: "string", default: "10" },
    out: { type: "string", default: "artifacts/bench-learn" },
    batch: { type: "string", default: "16" },
    "val-fraction": { type: "string", default: "0.02" },
    "epoch-samples": { type: "string", default: "640" },
    "lr-backbone": { type: "string", default: "0.002" },
    "lr-heads": { type: "string", default: "0.004" },
    optimizer: { type: "string", default: "adamw" },
    schedule: { type: "string", default: "step" },
    seed: { type: "string", default: "0" },
    workers: { type: "string", default: "auto" },
  },
});
if (!values.data) {
  console.error("error: --data DIR is required (a folder with train/ and public-test/ class folders)");
  Deno.exit(2);
}
const root = values.data, out = values.out!;
const minutes = Number(values.minutes);
const width = Number(values.width);
await Deno.remove(out, { recursive: true }).catch(() => {});
// The paper decays both rates x0.95 per pass over the training set; an epoch here is only `--epoch-samples`
// draws, so the per-epoch factor is 0.95^(draws / training images) (x0.95 per 28k draws on FER2013), not 0.95:
// a 60-minute run has ~100 short epochs, and 0.95^100 would leave 0.6% of the learning rate.
const trainCount = (await readDataset({ reader: "folder", root, split: "train" })).samples.length *
  (1 - Number(values["val-fraction"]));
const epochSamples = Number(values["epoch-samples"]);
const config = parseConfig({
  seed: Number(values.seed),
  model: { widthDivisor: width },
  epochs: 10000, // the time budget ends the run
  batchSize: Number(values.batch),
  workers: values.workers === "auto" ? "auto" : Number(values.workers),
  samplesPerEpoch: epochSamples,
  optimizer: {
    type: values.optimizer,
    lrBackbone: Number(values["lr-backbone"]),
    lrHeads: Number(values["lr-heads"]),
    lrDecay: 0.95 ** (epochSamples / trainCount),
    schedule: values.schedule,
  },
  backbone: { init: "none" },
  datasets: [{ reader: "folder", root, split: "train" }],
  valFraction: Number(values["val-fraction"]),
  selectBy: "f1_macro",
  checkpoint: { dir: join(out, "checkpoints"), keep: 1 },
  outDir: out,
});

// --- train for the budget: stop at the end of the epoch that would not finish within it ---
const controller = new AbortController();
const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
console.log(`training width 1/${width}, batch ${config.batchSize}, ${minutes} min budget on ${root}/train`);
console.log("epoch  train loss  train acc  val acc  val macro F1  img/s  elapsed s  lr backbone");
const result = await fit(config, {
  signal: controller.signal,
  // The budget is wall-clock time, so the annealing schedule reads how much of it is spent.
  progress: () => elapsed() / (minutes * 60),
  onEpoch: (r) => {
    const v = r.validation!;
    console.log(
      [
        String(r.epoch).padStart(5),
        r.loss.toFixed(4).padStart(10),
        r.accuracy.toFixed(3).padStart(9),
        v.accuracy.toFixed(3).padStart(7),
        v.f1_macro.toFixed(4).padStart(12),
        r.imagesPerSecond.toFixed(2).padStart(6),
        elapsed().toFixed(0).padStart(10),
        (r.lr?.backbone ?? 0).toExponential(2).padStart(11),
      ].join("  "),
    );
    if (elapsed() + (r.seconds + 5) > minutes * 60) controller.abort();
  },
});
const trainSeconds = elapsed();
await Deno.writeTextFile(
  join(out, "history.json"),
  JSON.stringify(historyJson(config, result), null, 2) + "\n",
);
await writePlots(out, {
  history: epochPoints(result.history),
  best: result.best ?? undefined,
});
console.log(
  `trained ${result.epochs} epochs (${result.globalStep} steps) in ${
    trainSeconds.toFixed(0)
  } s on ${result.backend} (${result.workers} worker${result.workers === 1 ? "" : "s"}); ` +
    `best epoch ${result.best?.epoch} (val macro F1 ${result.best?.value.toFixed(4)})`,
);

// --- export the best checkpoint with the trainer's export ---
const modelDir = join(out, "models");
const exported = await exportModel({
  checkpoint: result.bestCheckpoint!,
  out: modelDir,
  id: "scan-cci-bench-learn",
});
console.log(`exported ${exported.onnxPath} (trained: ${exported.manifest.trained})`);

// --- evaluate public-test: train eval (evaluateOnnx) and the serving path, same ONNX file ---
const { samples } = await readDataset({ reader: "folder", root, split: "public-test" });
const evalT = performance.now();
const trainer = await evaluateOnnx(samples, { manifestPath: exported.manifestPath, batchSize: 32 });
const evalSeconds = (performance.now() - evalT) / 1000;

const registry = await loadRegistry({ modelDir, createFaces: () => Promise.resolve(undefined) });
const model = registry.resolve(exported.manifest.id);
const served: number[] = [];
const serveT = performance.now();
try {
  const chunk = 64;
  for (let i = 0; i < samples.length; i += chunk) {
    const part = samples.slice(i, i + chunk);
    const scores = await Promise.all(part.map(async (s) => {
      const image = await decodeImage(await Deno.readFile(s.path));
      return (await classifyFaces(model, { prepare: prepareFaceInput }, image, [null]))[0];
    }));
    for (const sc of scores) served.push(sc.indexOf(Math.max(...sc)));
  }
} finally {
  await registry.close();
}
const serveSeconds = (performance.now() - serveT) / 1000;
const truth = samples.map((s) => s.label);
const servedMetrics = computeMetrics(truth, served, { labels: CANONICAL_LABELS });
const agree = served.filter((p, i) => p === trainer.predictions[i]).length / served.length;
const t = trainer.metrics, s = servedMetrics;
const pts = (x: number) => (x * 100).toFixed(2);
console.log(`public-test: ${samples.length} images`);
console.log("path           accuracy  macro F1  ABAW2020  seconds");
console.log(
  `train eval     ${pts(t.accuracy).padStart(8)}  ${pts(t.f1_macro).padStart(8)}  ${
    pts(t.abaw2020).padStart(8)
  }  ${evalSeconds.toFixed(0).padStart(7)}`,
);
console.log(
  `served (API)   ${pts(s.accuracy).padStart(8)}  ${pts(s.f1_macro).padStart(8)}  ${
    pts(s.abaw2020).padStart(8)
  }  ${serveSeconds.toFixed(0).padStart(7)}`,
);
const diff = Math.abs(t.accuracy - s.accuracy) * 100;
console.log(
  `parity: accuracy differs by ${diff.toFixed(2)} points (${diff <= 0.5 ? "within" : "OUTSIDE"} 0.5); ` +
    `same prediction on ${pts(agree)}% of images`,
);
console.log(
  "per class (served): " + s.labels.map((l) => `${l} F1 ${s.per_class[l].f1.toFixed(3)}`).join(", "),
);
// --- Grad-CAM of the exported checkpoint on ten public-test crops, evenly spaced over the (class-sorted) list ---
const camDir = join(out, "gradcam");
const picks = Array.from({ length: Math.min(10, samples.length) }, (_, k) => {
  return Math.floor((k + 0.5) * samples.length / Math.min(10, samples.length));
});
const cams = await gradcam({
  weights: result.bestCheckpoint!,
  images: await loadImages(picks.map((i) => samples[i]), { size: 224 }),
  out: camDir,
});
const camList = [];
for (const [k, r] of cams.entries()) {
  const sample = samples[picks[k]];
  const file = join(
    camDir,
    `${String(k).padStart(2, "0")}-${CANONICAL_LABELS[sample.label]}-as-${r.label}-gradcam.png`,
  );
  await Deno.rename(r.file!, file);
  const cam = r.cam;
  // Where the 14x14 map's mass lies: upper half (eyes, brows) vs lower half (mouth), and how peaked it is.
  let upper = 0, total = 0;
  for (let i = 0; i < cam.length; i++) {
    total += cam[i];
    if (i < cam.length / 2) upper += cam[i];
  }
  camList.push({
    file,
    source: sample.path,
    label: CANONICAL_LABELS[sample.label],
    predicted: r.label,
    probability: r.probabilities[r.class],
    upperShare: total > 0 ? upper / total : null,
    meanActivation: total / cam.length,
  });
}
await Deno.writeTextFile(join(out, "gradcam.json"), JSON.stringify(camList, null, 2) + "\n");
console.log(`gradcam: ${cams.length} overlays in ${camDir}`);
for (const c of camList) {
  console.log(
    `  ${c.label.padEnd(9)} -> ${c.predicted.padEnd(9)} p ${c.probability.toFixed(3)}  ` +
      `upper-half share ${c.upperShare?.toFixed(2) ?? "-"}  mean map ${c.meanActivation.toFixed(2)}`,
  );
}

const report = {
  data: root,
  width,
  minutes,
  trainSeconds,
  epochs: result.epochs,
  steps: result.globalStep,
  backend: result.backend,
  best: result.best,
  curve: result.history.map((h) => ({ epoch: h.epoch, trainLoss: h.loss, valF1: h.validation?.f1_macro })),
  trainEval: { accuracy: t.accuracy, f1_macro: t.f1_macro, abaw2020: t.abaw2020, per_class: t.per_class },
  served: { accuracy: s.accuracy, f1_macro: s.f1_macro, abaw2020: s.abaw2020, per_class: s.per_class },
  parityPoints: diff,
  agreement: agree,
  gradcam: camList,
};
await Deno.writeTextFile(join(out, "report.json"), JSON.stringify(report, null, 2) + "\n");
// The manifest and the card say what the model saw and what it measured; the model stays in --out, never in
// MODEL_DIR: a run this short is a pipeline proof, not a candidate default.
const measured = [{
  dataset: `folder ${root}`,
  split: "public-test",
  samples: s.samples,
  accuracy: s.accuracy,
  f1_macro: s.f1_macro,
  abaw2020: s.abaw2020,
  per_class: s.per_class,
}];
const final = await exportModel({
  checkpoint: result.bestCheckpoint!,
  out: modelDir,
  id: "scan-cci-bench-learn",
  metrics: measured,
});
await Deno.writeTextFile(
  join(out, "MODEL_CARD.md"),
  renderModelCard({
    config,
    metrics: [{ ...s, dataset: `folder ${root}`, split: "public-test" }],
    manifest: final.manifest,
    history: historyJson(config, result),
  }),
);
console.log(
  JSON.stringify({
    ...report,
    curve: undefined,
    trainEval: undefined,
    served: undefined,
    acc: [t.accuracy, s.accuracy],
  }),
);
Deno.exit(diff <= 0.5 ? 0 : 1);
