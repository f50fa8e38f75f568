/**
 * `deno task train <command>`: the trainer's command line. Data preparation, evaluation, metrics, plots and the
 * model card live here and in train/data; `fit`, `export` and `gradcam` are loaded on demand from train/fit.ts,
 * train/export.ts and train/gradcam.ts. Exit codes are the same for every command: usage mistakes (unknown
 * command or option, missing or malformed value, a file or dataset root that does not exist) print one `error:`
 * line and exit 2; data and runtime failures (malformed file content, invalid config, training or inference
 * errors) print one line and exit 1; no stack traces either way.
 */
import { EXPORT_OPTIONS, GRADCAM_OPTIONS } from "./cli_options.ts";
import { basename, join } from "node:path";
import { exampleConfig, loadConfig, type TrainConfig } from "./config.ts";
import { mixDatasets } from "./data/mix.ts";
import {
  checkDatasetRoot,
  DatasetNotFoundError,
  type DatasetSource,
  parseDatasetArg,
  readDataset,
} from "./data/read.ts";
import type { Sample, SkipCount } from "./data/sample.ts";
import { parseManifest } from "../model/manifest.ts";
import { CANONICAL_LABELS, OTHER_LABEL } from "../model/spec.ts";
import { computeMetrics, pairLabels, parseLabelFile } from "./metrics.ts";
import { renderModelCard } from "./model_card.ts";
import { type EpochPoint, writePlots } from "./plots.ts";
import { createProgress } from "./progress.ts";

/**
 * A mistake in how the command was called: exit code 2. Delegated commands (export, gradcam) may import this or
 * throw any error whose `name` is "UsageError".
 */
export class UsageError extends Error {
  override name = "UsageError";
}

type FlagSpec = Record<string, "string" | "boolean">;

/** Parses `--name value`, `--name=value` and boolean `--name`; anything not in `spec` is a UsageError. */
export function parseFlags(args: string[], spec: FlagSpec): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-h") {
      out.help = true;
      continue;
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(a);
    if (!m) throw new UsageError(`unexpected argument "${a}" (options start with --)`);
    const [, name, inline] = m;
    const kind = name === "help" ? "boolean" : spec[name];
    if (!kind) throw new UsageError(`unknown option --${name} (see --help)`);
    if (kind === "boolean") {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      out[name] = true;
    } else {
      const v = inline ?? args[++i];
      if (v === undefined || (inline === undefined && v.startsWith("--"))) {
        throw new UsageError(`option --${name} needs a value`);
      }
      out[name] = v;
    }
  }
  return out;
}

function need(flags: Record<string, string | boolean>, name: string): string {
  const v = flags[name];
  if (typeof v !== "string") throw new UsageError(`missing --${name} (see --help)`);
  return v;
}

/** A path named on the command line must exist: `Cannot read <what> "<path>": no such file` is a usage error. */
async function mustExist(path: string, what: string, kind: "file" | "folder" | "file or folder" = "file") {
  try {
    await Deno.stat(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new UsageError(`Cannot read ${what} "${path}": no such ${kind}`);
  }
}

/** `--dataset reader:root[:split]`; a malformed one is a usage error. */
function datasetArg(text: string): DatasetSource {
  try {
    return parseDatasetArg(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function int(flags: Record<string, string | boolean>, name: string, fallback: number): number {
  const v = flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} is "${v}", expected a positive integer`);
  return n;
}

function out(json: unknown): void {
  console.log(JSON.stringify(json, null, 2));
}

/** Resolves `--dataset`: `reader:root[:split]`, or a config file whose `validation` (or `datasets`) it reads. */
async function datasetSamples(
  arg: string,
  { useTraining = false } = {},
): Promise<
  { samples: Sample[]; labels: readonly string[]; name: string; split: string; skipped: SkipCount[] }
> {
  let sources: DatasetSource[];
  let labels: readonly string[] | undefined;
  if (arg.endsWith(".json")) {
    await mustExist(arg, "config");
    const config = await loadConfig(arg);
    labels = config.labels;
    sources = useTraining
      ? config.datasets
      : (config.validation.length ? config.validation : config.datasets);
    if (sources.length === 0) throw new UsageError(`config "${arg}" lists no datasets`);
  } else {
    sources = [datasetArg(arg)];
  }
  const samples: Sample[] = [];
  const skipped: SkipCount[] = [];
  for (const s of sources) {
    const r = await readDataset(s, labels ? { labels } : {});
    samples.push(...r.samples);
    skipped.push(...r.skipped);
  }
  return {
    samples,
    labels: labels ?? (await import("./data/sample.ts")).DEFAULT_LABELS,
    name: sources.map((s) => s.reader).join("+"),
    split: sources.map((s) => s.split ?? "default").join("+"),
    skipped,
  };
}

const HELP: Record<string, string> = {
  main: `deno task train <command> [options]

Commands:
  init-config   print the paper's recipe as an editable JSON config (> train.json)
  prepare       detect + align faces into 224x224 crops with a JSONL manifest (resumable, shardable)
  merge         combine the shard manifests of a prepare --out folder
  fit           train SCAN+CCI with a config (train/fit.ts)
  eval          evaluate an exported ONNX model on a dataset split
  metrics       score a predictions file against a labels file
  export        checkpoint -> ONNX + manifest (train/export.ts)
  gradcam       attention heatmaps for images (train/gradcam.ts)
  card          write a Markdown model card

Datasets are given as <reader>:<root>[:<split>], reader one of affwild2, affectnet, rafdb, expw, fer2013,
folder, prepared; or as a config .json. Run "deno task train <command> --help" for a command's options.`,
  "init-config": `deno task train init-config > train.json
Prints the paper's defaults with an example mix (Aff-Wild2 <= 50k/class + AffectNet + ExpW). Edit the roots.`,
  prepare: `deno task train prepare --dataset <reader:root[:split]> --out DIR [options]
  --shard i/N        prepare only the items of shard i (0-based) of N (deterministic by item key)
  --merge            after preparing, merge all shard manifests in DIR into manifest.jsonl
  --align faces|box  faces: detect + five-point align (src/faces.ts, needs "deno task models"); box: crop the
                     dataset's box (or the whole image) and resize. Default faces
  --models DIR       face model folder for --align faces (default model)
  --format jpg|png   crop encoding (default jpg)
  --concurrency N    images in flight (default 4)
  --split-name NAME  only with --dataset of a reader without splits: record this split name`,
  merge: `deno task train merge --out DIR
Merges DIR/manifest.shard-*.jsonl into DIR/manifest.jsonl (sorted by key, one line per item).`,
  fit: `deno task train fit --config train.json [--resume] [--epochs N] [--out DIR]
Trains with the recipe; writes checkpoints to config.checkpoint.dir, history.json and loss/score plots to
config.outDir (or --out). Ctrl-C stops after the current step with a resumable checkpoint.`,
  eval:
    `deno task train eval --model DIR/<name>.manifest.json --dataset <reader:root[:split] | config.json> [options]
  --model FILE       any expression model's manifest: a SCAN+CCI build, or the face-api baseline
                     (model/face-expression.manifest.json), each preprocessed as its manifest says
  --out DIR          write metrics.json, predictions.txt, confusion.svg (default artifacts/eval/<id>)
  --batch N          images per inference batch (default 16)
  --provider cpu|cuda`,
  metrics:
    `deno task train metrics --labels FILE --predictions FILE [--average all|present] [--other] [--out DIR]
  --other            score 8 classes (ABAW3+ files with Other = 7); default the canonical 7
Files hold one class index (canonical order) or name per line; an Aff-Wild2 annotation (class-name header);
or the ABAW submission format (image_location,Neutral,... header; video/00001.jpg,<label>). Labels of -1 are
ignored. Prints {accuracy, f1_macro, abaw2020, per_class, confusion} as JSON; --out also writes confusion.svg.`,
  export: `deno task train export (--checkpoint DIR | --weights FILE.safetensors) --out DIR [options]
  --checkpoint DIR   a training checkpoint folder (epoch-NNNN); trained: true only for real, non-synthetic data
  --weights FILE     a safetensors file instead; trained as its __metadata__ says, else true (as model:build)
  --out DIR          where <id>.onnx and <id>.manifest.json go
  --labels LIST      output label order name or comma list (default canonical)
  --fp16             half-precision weights
  --id ID            model id (default scan-cci)
  --metrics FILE     metrics.json from eval to embed in the manifest (repeatable)
  --trained          with --weights: mark the model trained (overrides the file's metadata)
  --untrained        with --weights: mark the model untrained (e.g. hand-made or random test weights)
  --source TEXT      provenance text
(options are read by train/export.ts)`,
  gradcam:
    `deno task train gradcam --weights CHECKPOINT_DIR|FILE.safetensors --out DIR [--class NAME] IMAGE...
Grad-CAM at the layer3 (Conv_4x) output, drawn as PNG heatmaps over each image; --class defaults to the
predicted class. (options are read by train/gradcam.ts)`,
  card:
    `deno task train card --config train.json --out MODEL_CARD.md [--metrics metrics.json ...] [--manifest M]
  --metrics FILE     metrics.json from eval (repeat the flag, or comma-separate, for several)
  --manifest FILE    the exported model's manifest (id, trained flag, checksum)
  --no-data          do not read the datasets for per-class counts`,
};

function initConfig(): void {
  out({ ...exampleConfig() });
}

async function prepare(flags: Record<string, string | boolean>): Promise<void> {
  const { prepareDataset, mergeShards, parseShard, cropAligner, faceAligner } = await import("./prepare.ts");
  const outDir = need(flags, "out");
  const shard = typeof flags.shard === "string" ? parseShardArg(parseShard, flags.shard) : undefined;
  const source = datasetArg(need(flags, "dataset"));
  const { samples, skipped } = await readDataset(source);
  const alignMode = (flags.align as string | undefined) ?? "faces";
  if (!["faces", "box"].includes(alignMode)) {
    throw new UsageError(`--align is "${alignMode}", expected faces or box`);
  }
  const format = (flags.format as string | undefined) ?? "jpg";
  if (format !== "jpg" && format !== "png") {
    throw new UsageError(`--format is "${format}", expected jpg or png`);
  }
  const face = alignMode === "faces"
    ? await faceAligner({ modelDir: (flags.models as string) ?? "model" })
    : null;
  const progress = createProgress(shard ? Math.ceil(samples.length / shard.count) : samples.length, {
    label: `prepare ${source.reader}`,
    unit: "img",
  });
  try {
    const r = await prepareDataset(samples, {
      outDir,
      align: face?.align ?? cropAligner(),
      root: source.root,
      shard,
      format,
      concurrency: int(flags, "concurrency", 4),
      onItem: () => progress.tick(),
    });
    progress.done();
    const merged = flags.merge ? await mergeShards(outDir) : undefined;
    out({ ...r, readerSkipped: skipped, merged });
  } finally {
    await face?.release();
  }
}

function parseShardArg(parse: (t: string) => { index: number; count: number }, text: string) {
  try {
    return parse(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function merge(flags: Record<string, string | boolean>): Promise<void> {
  const { mergeShards } = await import("./prepare.ts");
  const dir = need(flags, "out");
  await mustExist(dir, "prepare folder", "folder");
  out(await mergeShards(dir));
}

async function metrics(flags: Record<string, string | boolean>): Promise<void> {
  const labelsFile = need(flags, "labels"), predFile = need(flags, "predictions");
  await mustExist(labelsFile, "labels file");
  await mustExist(predFile, "predictions file");
  const average = (flags.average as string | undefined) ?? "all";
  if (average !== "all" && average !== "present") {
    throw new UsageError(`--average is "${average}", expected all or present`);
  }
  const labels = flags.other ? [...CANONICAL_LABELS, OTHER_LABEL] : CANONICAL_LABELS;
  const truth = parseLabelFile(await Deno.readTextFile(labelsFile), labelsFile, { labels });
  const pred = parseLabelFile(await Deno.readTextFile(predFile), predFile, { labels });
  const pairs = pairLabels(truth, pred, { truthSource: labelsFile, predictedSource: predFile });
  const m = computeMetrics(pairs.truth, pairs.predicted, { average, labels });
  if (typeof flags.out === "string") {
    await writePlots(flags.out, { confusion: m.confusion, labels: m.labels });
  }
  out({ ...m, ignored: pairs.ignored });
}

async function evaluate(flags: Record<string, string | boolean>): Promise<void> {
  const model = need(flags, "model");
  await mustExist(model, "model manifest");
  const provider = (flags.provider as string | undefined) ?? "cpu";
  if (provider !== "cpu" && provider !== "cuda") {
    throw new UsageError(`--provider is "${provider}", expected cpu or cuda`);
  }
  const data = await datasetSamples(need(flags, "dataset"));
  const { evaluateOnnx, writeEvalReport } = await import("./eval.ts");
  const progress = createProgress(data.samples.length, { label: "eval", unit: "img" });
  const result = await evaluateOnnx(data.samples, {
    manifestPath: model,
    labels: data.labels,
    batchSize: int(flags, "batch", 16),
    executionProvider: provider,
    onBatch: (n) => progress.tick(n),
  });
  progress.done();
  const dir = typeof flags.out === "string" ? flags.out : join("artifacts", "eval", result.model.id);
  const files = await writeEvalReport(dir, result, { dataset: data.name, split: data.split });
  out({ model: result.model, dataset: data.name, split: data.split, ...result.metrics, files });
}

/** Imports an optional module of part B, turning "not there yet" into a clear one-line error. */
async function optional(name: string): Promise<Record<string, unknown>> {
  try {
    return await import(`./${name}.ts`);
  } catch (err) {
    if (String((err as Error).message).includes("Module not found")) {
      throw new Error(`Cannot run this command: train/${name}.ts is not available in this build`);
    }
    throw err;
  }
}

async function fitCommand(flags: Record<string, string | boolean>): Promise<void> {
  const path = need(flags, "config");
  await mustExist(path, "config");
  let config: TrainConfig = await loadConfig(path);
  if (flags.resume) config = { ...config, resume: true };
  if (typeof flags.epochs === "string") config = { ...config, epochs: int(flags, "epochs", config.epochs) };
  if (typeof flags.out === "string") config = { ...config, outDir: flags.out };
  // Every root first: a wrong path (e.g. init-config's example roots) is said before TensorFlow.js loads.
  for (const d of [...config.datasets, ...config.validation]) await checkDatasetRoot(d);
  const mod = await optional("fit");
  const fit = mod.fit as (c: TrainConfig, o: Record<string, unknown>) => Promise<Record<string, unknown>>;
  let validationData: unknown;
  if (config.validation.length) {
    const { loadImages } = await import("./data/images.ts");
    const parts: Sample[] = [];
    for (const d of config.validation) {
      parts.push(...(await readDataset(d, { labels: config.labels })).samples);
    }
    validationData = {
      name: config.validation.map((d) => d.reader).join("+"),
      synthetic: false,
      labels: Int32Array.from(parts, (s) => s.label),
      load: (idx: ArrayLike<number>) => loadImages(Array.from(idx, (i) => parts[i])),
    };
  }
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  Deno.addSignalListener("SIGINT", onSigint);
  let progress: ReturnType<typeof createProgress> | null = null;
  try {
    const result = await fit(config, {
      signal: controller.signal,
      validationData,
      onProgress: (p: { steps: number; epochs: number; epoch: number }) => {
        progress ??= createProgress(p.steps * p.epochs, { label: "fit", unit: "step" });
        progress.tick();
      },
    });
    (progress as ReturnType<typeof createProgress> | null)?.done();
    const history = (result.history ?? []) as {
      epoch: number;
      loss: number;
      validation?: { accuracy: number; loss: number };
    }[];
    const points: EpochPoint[] = history.map((h) => ({
      epoch: h.epoch,
      trainLoss: h.loss,
      valLoss: h.validation?.loss,
      accuracy: h.validation?.accuracy,
    }));
    await Deno.mkdir(config.outDir, { recursive: true });
    await Deno.writeTextFile(join(config.outDir, "history.json"), JSON.stringify(history, null, 2) + "\n");
    const plots = points.length ? await writePlots(config.outDir, { history: points }) : [];
    out({ ...result, model: undefined, plots });
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
}

/** The options train/export.ts and train/gradcam.ts accept (one definition, in train/cli_options.ts). */
const DELEGATED_OPTIONS = { export: EXPORT_OPTIONS, gradcam: GRADCAM_OPTIONS } as const;

/**
 * Checks what export and gradcam need before loading them, so their usage mistakes exit 2 like every other
 * command's: unknown options, required and exclusive ones, and that the named files exist.
 */
async function checkDelegated(name: "export" | "gradcam", args: string[]): Promise<void> {
  const { parseArgs } = await import("node:util");
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: name === "gradcam",
      options: DELEGATED_OPTIONS[name],
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  const weights = str(values.weights), out = str(values.out);
  if (name === "export") {
    const checkpoint = str(values.checkpoint);
    if ((checkpoint === undefined) === (weights === undefined)) {
      throw new UsageError("Cannot export model: give exactly one of --checkpoint DIR or --weights FILE");
    }
    if (!out) throw new UsageError("Cannot export model: --out DIR is required");
    if (values.trained && values.untrained) {
      throw new UsageError("Cannot export model: give at most one of --trained and --untrained");
    }
    if (checkpoint !== undefined) await mustExist(checkpoint, "checkpoint", "folder");
    if (weights !== undefined) await mustExist(weights, "weights");
    for (const f of (values.metrics ?? []) as string[]) await mustExist(f, "metrics");
    return;
  }
  if (!weights || !out || parsed.positionals.length === 0) {
    throw new UsageError("Cannot run Grad-CAM: --weights, --out and at least one IMAGE are required");
  }
  await mustExist(weights, "weights", "file or folder");
  for (const image of parsed.positionals) await mustExist(image, "image");
}

async function delegate(name: "export" | "gradcam", args: string[]): Promise<void> {
  await checkDelegated(name, args);
  const mod = await optional(name);
  const entry = mod.main ?? mod.cli;
  if (typeof entry !== "function") {
    throw new Error(`Cannot run "${name}": train/${name}.ts has no main(args) entry`);
  }
  await (entry as (a: string[]) => Promise<void>)(args);
}

async function card(flags: Record<string, string | boolean>, metricsFiles: string[]): Promise<void> {
  const configPath = need(flags, "config");
  const outFile = need(flags, "out");
  await mustExist(configPath, "config");
  const config = await loadConfig(configPath);
  const metrics = [];
  for (const f of metricsFiles) {
    await mustExist(f, "metrics file");
    metrics.push(JSON.parse(await Deno.readTextFile(f)));
  }
  let manifest;
  if (typeof flags.manifest === "string") {
    await mustExist(flags.manifest, "manifest");
    manifest = parseManifest(JSON.parse(await Deno.readTextFile(flags.manifest)), flags.manifest);
  }
  let data;
  if (!flags["no-data"] && config.datasets.length) {
    const parts = [];
    for (const d of config.datasets) {
      parts.push({
        name: `${d.reader} ${basename(d.root)}${d.split ? `:${d.split}` : ""}`,
        samples: (await readDataset(d, { labels: config.labels })).samples,
        maxPerClass: d.maxPerClass,
      });
    }
    data = mixDatasets(parts, { seed: config.seed, numClasses: config.labels.length }).report;
  }
  await Deno.writeTextFile(outFile, renderModelCard({ config, data, metrics, manifest }));
  out({
    card: outFile,
    datasets: data?.map((d) => ({
      name: d.name,
      samples: d.after.reduce((a, b) => a + b, 0),
    })),
  });
}

const FLAGS: Record<string, FlagSpec> = {
  "init-config": {},
  prepare: {
    dataset: "string",
    out: "string",
    shard: "string",
    merge: "boolean",
    align: "string",
    models: "string",
    format: "string",
    concurrency: "string",
  },
  merge: { out: "string" },
  fit: { config: "string", resume: "boolean", epochs: "string", out: "string" },
  eval: { model: "string", dataset: "string", out: "string", batch: "string", provider: "string" },
  metrics: { labels: "string", predictions: "string", average: "string", out: "string", other: "boolean" },
  card: { config: "string", out: "string", metrics: "string", manifest: "string", "no-data": "boolean" },
};

/** Runs one CLI invocation; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (!command || command === "--help" || command === "-h" || command === "help") {
      console.log(HELP.main);
      return command ? 0 : 2;
    }
    if (command === "export" || command === "gradcam") {
      if (rest.includes("--help") || rest.includes("-h")) {
        console.log(HELP[command]);
        return 0;
      }
      await delegate(command, rest);
      return 0;
    }
    const spec = FLAGS[command];
    if (!spec) throw new UsageError(`unknown command "${command}" (see deno task train --help)`);
    // --metrics may repeat; collect every value before the one-value parser sees them.
    const metricsFiles: string[] = [];
    const filtered: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      if (command === "card" && rest[i] === "--metrics" && rest[i + 1] !== undefined) {
        metricsFiles.push(...rest[++i].split(","));
      } else if (command === "card" && rest[i].startsWith("--metrics=")) {
        metricsFiles.push(...rest[i].slice(10).split(","));
      } else filtered.push(rest[i]);
    }
    const flags = parseFlags(filtered, spec);
    if (flags.help) {
      console.log(HELP[command]);
      return 0;
    }
    switch (command) {
      case "init-config":
        initConfig();
        break;
      case "prepare":
        await prepare(flags);
        break;
      case "merge":
        await merge(flags);
        break;
      case "fit":
        await fitCommand(flags);
        break;
      case "eval":
        await evaluate(flags);
        break;
      case "metrics":
        await metrics(flags);
        break;
      case "card":
        await card(flags, metricsFiles);
        break;
    }
    return 0;
  } catch (err) {
    const msg = (err as Error).message?.split("\n")[0] ?? String(err);
    console.error(`error: ${msg}`);
    // Delegated modules may throw their own usage errors (by name) or node:util parseArgs errors (by code); a
    // dataset root that does not exist is a wrong path in the command or config, like a missing --model file.
    const code = String((err as { code?: unknown }).code ?? "");
    const usage = err instanceof UsageError || err instanceof DatasetNotFoundError ||
      (err as Error).name === "UsageError" || code.startsWith("ERR_PARSE_ARGS");
    return usage ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
