/** `deno task train eval`: evaluates an exported ONNX model on a dataset split. */
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { type DatasetSource, readDataset } from "../data/read.ts";
import { DEFAULT_LABELS, type Sample } from "../data/sample.ts";
import { evaluateOnnx, writeEvalReport } from "../eval.ts";
import { createProgress } from "../progress.ts";
import {
  type Command,
  datasetArg,
  mustExist,
  need,
  oneOf,
  parseCommandArgs,
  positiveInt,
  printJson,
  UsageError,
} from "./args.ts";

const OPTIONS = {
  model: { type: "string" },
  dataset: { type: "string" },
  out: { type: "string" },
  batch: { type: "string" },
  provider: { type: "string" },
} as const;

/** Resolves `--dataset`: `reader:root[:split]`, or a config file whose `validation` (or `datasets`) it reads. */
async function datasetSamples(
  arg: string,
): Promise<{ samples: Sample[]; labels: readonly string[]; name: string; split: string }> {
  let sources: DatasetSource[];
  let labels: readonly string[] | undefined;
  if (arg.endsWith(".json")) {
    await mustExist(arg, "config");
    const config = await loadConfig(arg);
    labels = config.labels;
    sources = config.validation.length ? config.validation : config.datasets;
    if (sources.length === 0) throw new UsageError(`config "${arg}" lists no datasets`);
  } else {
    sources = [datasetArg(arg)];
  }
  const samples: Sample[] = [];
  for (const s of sources) samples.push(...(await readDataset(s, labels ? { labels } : {})).samples);
  return {
    samples,
    labels: labels ?? DEFAULT_LABELS,
    name: sources.map((s) => s.reader).join("+"),
    split: sources.map((s) => s.split ?? "default").join("+"),
  };
}

export const evalCommand: Command = {
  summary: "evaluate an exported ONNX model on a dataset split",
  help:
    `deno task train eval --model DIR/<name>.manifest.json --dataset <reader:root[:split] | config.json> [options]
  --model FILE       any expression model's manifest: a SCAN+CCI build, or the face-api baseline
                     (model/face-expression.manifest.json), each preprocessed as its manifest says
  --out DIR          write metrics.json, predictions.txt, confusion.svg (default artifacts/eval/<id>)
  --batch N          images per inference batch (default 16)
  --provider cpu|cuda`,
  async run(args) {
    const { values } = parseCommandArgs(args, OPTIONS);
    const model = need(values.model, "model");
    await mustExist(model, "model manifest");
    const provider = oneOf(values.provider, "provider", ["cpu", "cuda"], "cpu");
    const data = await datasetSamples(need(values.dataset, "dataset"));
    const progress = createProgress(data.samples.length, { label: "eval", unit: "img" });
    const result = await evaluateOnnx(data.samples, {
      manifestPath: model,
      labels: data.labels,
      batchSize: positiveInt(values.batch, "batch", 16),
      executionProvider: provider,
      onBatch: (n) => progress.tick(n),
    });
    progress.done();
    const dir = values.out ?? join("artifacts", "eval", result.model.id);
    const files = await writeEvalReport(dir, result, { dataset: data.name, split: data.split });
    printJson({ model: result.model, dataset: data.name, split: data.split, ...result.metrics, files });
  },
};
