/**
 * `deno task train eval`: runs an exported ONNX expression model (through src/session.ts, the project's one door
 * to onnxruntime) on a dataset split's images, preprocessed per the manifest's input spec (model/preprocess.ts;
 * face-api's pad-square crop through src/faces/prepare.ts), and scores the predictions with train/metrics.ts over all
 * frames. Any expression manifest works, so the shipped face-api baseline and a SCAN+CCI build are compared on
 * the same split. Writes metrics.json, predictions.txt and confusion.svg when given an output folder.
 */
import { join } from "node:path";
import type { InputSpec } from "../model/manifest.ts";
import { toTensor } from "../model/preprocess.ts";
import { type ExecutionProvider, openModel } from "../src/mod.ts";
import { loadImages, loadInput } from "./data/images.ts";
import { DEFAULT_LABELS, type Sample } from "./data/sample.ts";
import { computeMetrics, type EvalMetrics } from "./metrics.ts";
import { confusionSvg } from "./plots.ts";

/** Options of {@link evaluateOnnx}. */
export interface EvalOptions {
  /** Path of `<name>.manifest.json`; the ONNX file is found through it. */
  manifestPath: string;
  /** The class list the samples' labels index into. Default the canonical seven. */
  labels?: readonly string[];
  batchSize?: number;
  executionProvider?: ExecutionProvider;
  /** Called after each batch with the number of images it held. */
  onBatch?: (n: number) => void;
}

/** Metrics plus the raw predictions (indices into `labels`), aligned with the samples. */
export interface EvalResult {
  metrics: EvalMetrics;
  predictions: number[];
  truth: number[];
  model: { id: string; trained: boolean; provider: string };
}

/**
 * The classifier output: "logits" (SCAN+CCI) or "probabilities" (face-api's expression net). Softmax is
 * monotonic, so the argmax over the run's classes is the same on logits as on their softmax probabilities.
 */
function classifierOutput(names: readonly string[], manifestPath: string): string {
  const name = names.find((n) => n === "logits") ?? names.find((n) => n === "probabilities");
  if (!name) {
    throw new Error(
      `Cannot evaluate "${manifestPath}": the model has no "logits" or "probabilities" output (it has ${
        names.join(", ")
      })`,
    );
  }
  return name;
}

/**
 * Fills `out` with one batch in the model's input layout. `resize: "fill"` (SCAN+CCI): the trainer's loader
 * (box crop, stretched to the input size), as in training. `resize: "pad-square"` (face-api's nets): the same
 * loader's `loadInput`, i.e. serving's own face-api crop (src/faces/prepare.ts prepareFaceInput: the box, or the
 * whole image, zero-padded to a centred square and resized bilinearly), so a baseline is scored on the pixels it
 * sees in the API.
 */
async function loadBatch(
  samples: readonly Sample[],
  spec: InputSpec,
  out: Float32Array<ArrayBuffer>,
  per: number,
) {
  const { width, height } = spec.size;
  if (spec.resize === "pad-square") {
    await Promise.all(samples.map(async (sample, i) => {
      toTensor(await loadInput(sample, spec), spec, out, i * per);
    }));
    return;
  }
  if (width !== height) throw new Error(`Cannot evaluate: input is ${width}x${height}, expected a square`);
  const images = await loadImages(samples, { size: width });
  images.forEach((img, i) => toTensor(img, spec, out, i * per));
}

/**
 * Evaluates `samples` with the expression model of `manifestPath`: any input spec (size, NCHW or NHWC, RGB, BGR
 * or gray, `fill` or `pad-square` resize; e.g. SCAN+CCI or the shipped face-api baseline) and a `logits` or
 * `probabilities` output. Model classes are matched to `labels` BY NAME, whatever the model's output order; the
 * argmax runs only over classes in `labels`, so an 8-class model can be scored on a 7-class set. Throws when
 * the model is not an expression model, its input is not float32, or a label of the run is not one it produces.
 */
export async function evaluateOnnx(
  samples: readonly Sample[],
  { manifestPath, labels = DEFAULT_LABELS, batchSize = 16, executionProvider = "cpu", onBatch }: EvalOptions,
): Promise<EvalResult> {
  if (samples.length === 0) throw new Error("Cannot evaluate: the dataset split holds no samples");
  const session = await openModel(manifestPath, { executionProvider });
  try {
    const { manifest } = session;
    const spec = manifest.input;
    if (manifest.task !== "expression" || spec.dtype !== "float32") {
      throw new Error(
        `Cannot evaluate "${manifestPath}": it is a ${manifest.task} model with ${spec.dtype} input, ` +
          "expected an expression model with float32 input",
      );
    }
    const columns = labels.map((name) => {
      const i = manifest.labels.indexOf(name);
      if (i < 0) {
        throw new Error(
          `Cannot evaluate "${manifestPath}": the model has no class "${name}" (it has ${
            manifest.labels.join(", ")
          })`,
        );
      }
      return i;
    });
    const output = classifierOutput(session.outputNames, manifestPath);
    const { width, height } = spec.size;
    const channels = spec.channelOrder === "GRAY" ? 1 : 3;
    const per = channels * width * height;
    const dims = (n: number) =>
      spec.layout === "NHWC" ? [n, height, width, channels] : [n, channels, height, width];
    const predictions: number[] = [];
    // Decode the next batch while the current one runs (sharp and onnxruntime both work off the JS thread).
    const load = async (b: number) => {
      const batch = samples.slice(b, b + batchSize);
      const data = new Float32Array(batch.length * per);
      await loadBatch(batch, spec, data, per);
      return data;
    };
    let pending = load(0);
    for (let b = 0; b < samples.length; b += batchSize) {
      const n = Math.min(batchSize, samples.length - b);
      const data = await pending;
      if (b + batchSize < samples.length) pending = load(b + batchSize);
      const out = await session.run({ [spec.name]: { data, dims: dims(n) } }, [output]);
      const scores = out[output].data;
      const classes = out[output].dims[1];
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let c = 1; c < columns.length; c++) {
          if (scores[i * classes + columns[c]] > scores[i * classes + columns[best]]) best = c;
        }
        predictions.push(best);
      }
      onBatch?.(n);
    }
    const truth = samples.map((s) => s.label);
    return {
      metrics: computeMetrics(truth, predictions, { labels }),
      predictions,
      truth,
      model: { id: manifest.id, trained: manifest.trained, provider: session.provider },
    };
  } finally {
    await session.release();
  }
}

/**
 * Writes an evaluation's `metrics.json` (metrics plus model id and `trained` flag), `predictions.txt` (one
 * label name per sample, in sample order) and `confusion.svg` into `outDir`. Returns the written paths.
 */
export async function writeEvalReport(
  outDir: string,
  result: EvalResult,
  { dataset = "", split = "" } = {},
): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const { metrics } = result;
  const files = {
    "metrics.json": JSON.stringify({ model: result.model, dataset, split, ...metrics }, null, 2) + "\n",
    "predictions.txt": result.predictions.map((p) => metrics.labels[p]).join("\n") + "\n",
    "confusion.svg": confusionSvg(metrics.confusion, metrics.labels),
  };
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(join(outDir, name), text);
    written.push(join(outDir, name));
  }
  return written;
}
