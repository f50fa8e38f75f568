/**
 * `deno task train eval`: runs an exported ONNX model (through src/session.ts, the project's one door to
 * onnxruntime) on a dataset split's images, preprocessed exactly as serving does (model/preprocess.ts with the
 * manifest's input spec), and scores the predictions with train/metrics.ts over all frames. Writes
 * metrics.json, predictions.txt and confusion.svg when given an output folder.
 */
import { join } from "node:path";
import { toTensor } from "../model/preprocess.ts";
import { loadImages } from "./data/images.ts";
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
  executionProvider?: "cpu" | "cuda";
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

/** Picks the classifier output: "logits" or "probabilities"/"scores" if named so, else the first. */
function classifierOutput(names: readonly string[]): string {
  return names.find((n) => n === "logits") ?? names.find((n) => /prob|score/i.test(n)) ?? names[0];
}

/**
 * Evaluates `samples` with the ONNX model of `manifestPath`. Model classes are matched to `labels` by name;
 * the argmax runs only over classes in `labels`, so an 8-class model can be scored on a 7-class set. Throws
 * when a label of the run is not produced by the model, or the model's input is not NCHW float RGB.
 */
export async function evaluateOnnx(
  samples: readonly Sample[],
  { manifestPath, labels = DEFAULT_LABELS, batchSize = 16, executionProvider = "cpu", onBatch }: EvalOptions,
): Promise<EvalResult> {
  if (samples.length === 0) throw new Error("Cannot evaluate: the dataset split holds no samples");
  const { openModel } = await import("../src/session.ts");
  const session = await openModel(manifestPath, { executionProvider });
  try {
    const { manifest } = session;
    const spec = manifest.input;
    if (spec.layout !== "NCHW" || spec.dtype !== "float32" || spec.channelOrder === "GRAY") {
      throw new Error(
        `Cannot evaluate "${manifestPath}": input is ${spec.layout} ${spec.dtype} ${spec.channelOrder}, ` +
          "expected NCHW float32 RGB/BGR (an expression model)",
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
    const output = classifierOutput(session.outputNames);
    const { width, height } = spec.size;
    if (width !== height) throw new Error(`Cannot evaluate: input is ${width}x${height}, expected a square`);
    const per = 3 * width * height;
    const predictions: number[] = [];
    // Decode the next batch while the current one runs (sharp and onnxruntime both work off the JS thread).
    const load = (b: number) => loadImages(samples.slice(b, b + batchSize), { size: width });
    let pending = load(0);
    for (let b = 0; b < samples.length; b += batchSize) {
      const batch = samples.slice(b, b + batchSize);
      const images = await pending;
      if (b + batchSize < samples.length) pending = load(b + batchSize);
      const data = new Float32Array(batch.length * per);
      images.forEach((img, i) => toTensor(img, spec, data, i * per));
      const out = await session.run({ [spec.name]: { data, dims: [batch.length, 3, height, width] } }, [
        output,
      ]);
      const scores = out[output].data;
      const classes = out[output].dims[1];
      for (let i = 0; i < batch.length; i++) {
        let best = 0;
        for (let c = 1; c < columns.length; c++) {
          if (scores[i * classes + columns[c]] > scores[i * classes + columns[best]]) best = c;
        }
        predictions.push(best);
      }
      onBatch?.(batch.length);
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
