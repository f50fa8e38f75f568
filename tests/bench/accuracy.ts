/**
 * `deno task bench:accuracy --data DIR [--model ID ...] [--detect true|false] [--detector NAME] [--out DIR]
 * [--model-dir DIR] [--limit N]`: how right the served models are on a labelled image set, through the API's
 * own in-process pipeline (registry, `analyzeImages`: decode, detect or not, align, classify). Several models
 * run side by side in one process (default: every expression model of the model folder). Prints accuracy,
 * macro-F1, ABAW 2020 score, ECE (15 bins), faces-found rate and images/s per model, then per-class
 * precision/recall/F1 and each confusion matrix; writes `accuracy.json` and `confusion-<model>.svg` into
 * `--out` (default artifacts/bench/accuracy). Images/s is wall clock on whatever else the machine runs.
 * `--calibrate DIR` fits one temperature per model on another labelled set (every N-th image with
 * `--calibrate-every N`; e.g. a held-out part of a training split) and reports the ECE of `--data` at it.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createFaceDetector } from "../../src/faces/pipeline.ts";
import { DEFAULT_DETECTOR, DETECTOR_NAMES, type DetectorName } from "../../src/faces/detectors.ts";
import { loadRegistry } from "../../src/registry.ts";
import { CANONICAL_LABELS } from "../../model/spec.ts";
import { confusionSvg } from "../../train/plots.ts";
import { calibrationError, fitTemperature, withTemperature } from "../../train/calibration.ts";
import { faceModelDir } from "../faces/models.ts";
import { measureModel, type ModelAccuracy, readLabelledSet } from "./accuracy_run.ts";

const USAGE =
  "usage: deno task bench:accuracy --data DIR [--model ID ...] [--detect true|false] [--detector NAME] [--out DIR] [--model-dir DIR] [--limit N] [--calibrate DIR [--calibrate-every N]]";
const { values } = parseArgs({
  args: Deno.args,
  options: {
    data: { type: "string" },
    model: { type: "string", multiple: true },
    detect: { type: "string", default: "false" },
    detector: { type: "string", default: DEFAULT_DETECTOR },
    out: { type: "string", default: join("artifacts", "bench", "accuracy") },
    "model-dir": { type: "string" },
    limit: { type: "string" },
    calibrate: { type: "string" },
    "calibrate-every": { type: "string", default: "1" },
  },
});
if (!values.data || !["true", "false"].includes(values.detect)) {
  console.error(USAGE);
  Deno.exit(2);
}
if (!(DETECTOR_NAMES as string[]).includes(values.detector)) {
  console.error(
    `Cannot parse --detector: "${values.detector}" is not ${DETECTOR_NAMES.join(" or ")}\n${USAGE}`,
  );
  Deno.exit(2);
}
const detect = values.detect === "true";
const detector = values.detector as DetectorName;

let images = await readLabelledSet(values.data);
if (values.limit) images = images.slice(0, Number(values.limit));
const modelDir = values["model-dir"] ?? await faceModelDir();
const faces = await createFaceDetector({ modelDir });
const registry = await loadRegistry({ modelDir, createFaces: () => Promise.resolve(faces) });
const ids = values.model?.length ? values.model : [...registry.models.keys()];
console.log(
  `accuracy benchmark: ${images.length} images from ${values.data}, detect=${detect}${
    detect ? ` (${detector})` : ""
  }, ${navigator.hardwareConcurrency} logical CPUs`,
);
const results: (ModelAccuracy & { temperature?: number; eceAtTemperature?: number })[] = [];
const every = Math.max(1, Number(values["calibrate-every"]));
const held = values.calibrate
  ? (await readLabelledSet(values.calibrate)).filter((_, i) => i % every === 0)
  : [];
for (const id of ids) {
  const r = await measureModel(registry, id, images, { detect, detector });
  if (held.length) {
    const fit = await measureModel(registry, id, held, { detect, detector });
    const found = held.map((_, i) => i).filter((i) => fit.predictions[i] >= 0);
    const temperature = fitTemperature(found.map((i) => fit.scores[i]), found.map((i) => held[i].label));
    const seen = images.map((_, i) => i).filter((i) => r.predictions[i] >= 0);
    const scaled = seen.map((i) => withTemperature(r.scores[i], temperature));
    const ece = calibrationError(
      scaled.map((p) => Math.max(...p)), // the temperature keeps the argmax: this is the predicted class's
      seen.map((i) => r.predictions[i] === images[i].label),
    ).ece;
    Object.assign(r, { temperature, eceAtTemperature: ece });
  }
  results.push(r);
}
await faces.pipeline.release();
await registry.close();

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const f3 = (x: number) => x.toFixed(3);
console.log(
  "\nmodel                      accuracy  macro-F1  ABAW2020  ECE(15)  faces found  acc(all)  images/s",
);
for (const r of results) {
  console.log(
    `${r.model.id.padEnd(26)} ${pct(r.metrics.accuracy).padStart(8)}  ${
      f3(r.metrics.f1_macro).padStart(8)
    }  ` +
      `${f3(r.metrics.abaw2020).padStart(8)}  ${f3(r.calibration.ece).padStart(7)}  ${
        pct(r.facesFoundRate).padStart(11)
      }  ${pct(r.accuracyAllImages).padStart(8)}  ${r.imagesPerSecond.toFixed(0).padStart(8)}`,
  );
}
for (const r of results) {
  if (r.temperature === undefined) continue;
  console.log(
    `${r.model.id}: temperature ${
      r.temperature.toFixed(3)
    } fitted on ${held.length} images of ${values.calibrate}` +
      ` -> ECE ${f3(r.calibration.ece)} before, ${f3(r.eceAtTemperature!)} after (same predictions)`,
  );
}
for (const r of results) {
  console.log(
    `\n${r.model.id}: per class (precision / recall / F1 / support), confusion rows true, cols predicted`,
  );
  for (const [t, label] of CANONICAL_LABELS.entries()) {
    const c = r.metrics.per_class[label];
    console.log(
      `  ${label.padEnd(10)} ${f3(c.precision)} / ${f3(c.recall)} / ${f3(c.f1)} / ${
        String(c.support).padStart(5)
      }   ${r.metrics.confusion[t].map((n) => String(n).padStart(5)).join("")}`,
    );
  }
}

await Deno.mkdir(values.out, { recursive: true });
const files = [join(values.out, "accuracy.json")];
await Deno.writeTextFile(
  files[0],
  JSON.stringify(
    {
      data: values.data,
      detect,
      ...(detect ? { detector } : {}),
      results: results.map(({ predictions: _, scores: __, ...r }) => r),
    },
    null,
    2,
  ) + "\n",
);
for (const r of results) {
  const path = join(values.out, `confusion-${r.model.id}.svg`);
  await Deno.writeTextFile(
    path,
    confusionSvg(r.metrics.confusion, r.metrics.labels, {
      title: `${r.model.id} (rows: true, columns: predicted)`,
    }),
  );
  files.push(path);
}
console.log(`\nwrote ${files.join(", ")}`);
