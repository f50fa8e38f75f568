/**
 * `deno task train fit`: trains SCAN+CCI with a config, then writes history.json (every epoch's train and
 * validation scores, the best epoch by `selectBy`, early stopping) and the loss/score plots.
 */
import { join } from "node:path";
import { loadConfig, type TrainConfig } from "../config.ts";
import { checkDatasetRoot } from "../data/read.ts";
import { fit } from "../fit.ts";
import { loadValidationData } from "../fit_data.ts";
import { type EpochPoint, writePlots } from "../plots.ts";
import { createProgress } from "../progress.ts";
import {
  type Command,
  datasetArg,
  mustExist,
  need,
  parseCommandArgs,
  positiveInt,
  printJson,
} from "./args.ts";
import { DatasetEntry } from "../config.ts";

const OPTIONS = {
  config: { type: "string" },
  resume: { type: "boolean" },
  epochs: { type: "string" },
  out: { type: "string" },
  val: { type: "string" },
} as const;

export const fitCommand: Command = {
  summary: "train SCAN+CCI with a config (train/fit.ts)",
  help:
    `deno task train fit --config train.json [--resume] [--epochs N] [--out DIR] [--val reader:root[:split]]
Trains with the recipe; writes checkpoints to config.checkpoint.dir, history.json and loss/score plots to
config.outDir (or --out). Ctrl-C stops after the current step with a resumable checkpoint.
  --val SPLIT   validate on this dataset split after every epoch (replaces config.validation); without it and
                without config.validation, config.valFraction holds out a stratified part of the training data.
The best epoch by config.selectBy (default f1_macro) is kept in <checkpoint.dir>/best beside the last ones;
config.patience stops after that many epochs without improvement.`,
  async run(args) {
    const { values } = parseCommandArgs(args, OPTIONS);
    const path = need(values.config, "config");
    await mustExist(path, "config");
    let config: TrainConfig = await loadConfig(path);
    if (values.resume) config = { ...config, resume: true };
    if (values.epochs !== undefined) config = { ...config, epochs: positiveInt(values.epochs, "epochs", 1) };
    if (values.out !== undefined) config = { ...config, outDir: values.out };
    if (values.val !== undefined) {
      const v = datasetArg(values.val);
      config = {
        ...config,
        validation: [DatasetEntry.parse({ reader: v.reader, root: v.root, split: v.split })],
      };
    }
    // Every root first: a wrong path (e.g. init-config's example roots) is said before any work starts.
    for (const d of [...config.datasets, ...config.validation]) await checkDatasetRoot(d);
    const validationData = await loadValidationData(config);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    Deno.addSignalListener("SIGINT", onSigint);
    let progress: ReturnType<typeof createProgress> | undefined;
    try {
      const result = await fit(config, {
        signal: controller.signal,
        validationData,
        onProgress: (p) => {
          progress ??= createProgress(p.steps * p.epochs, { label: "fit", unit: "step" });
          progress.tick();
        },
      });
      progress?.done();
      const points = epochPoints(result.history);
      await Deno.mkdir(config.outDir, { recursive: true });
      await Deno.writeTextFile(
        join(config.outDir, "history.json"),
        JSON.stringify(historyJson(config, result), null, 2) + "\n",
      );
      const plots = points.length
        ? await writePlots(config.outDir, { history: points, best: result.best ?? undefined })
        : [];
      printJson({ ...result, model: undefined, plots });
    } finally {
      Deno.removeSignalListener("SIGINT", onSigint);
    }
  },
};

/** The plotted curves of a run: training loss and the validation figures of each epoch. */
export function epochPoints(history: Awaited<ReturnType<typeof fit>>["history"]): EpochPoint[] {
  return history.map((h) => ({
    epoch: h.epoch,
    trainLoss: h.loss,
    valLoss: h.validation?.loss,
    accuracy: h.validation?.accuracy,
    f1_macro: h.validation?.f1_macro,
    abaw2020: h.validation?.abaw2020,
  }));
}

/** history.json: the run's selection settings, its outcome, and one record per epoch. */
export function historyJson(config: TrainConfig, result: Awaited<ReturnType<typeof fit>>) {
  return {
    selectBy: config.selectBy,
    patience: config.patience,
    validation: result.validation,
    best: result.best,
    bestCheckpoint: result.bestCheckpoint,
    lastCheckpoint: result.checkpoint,
    stoppedEarly: result.stoppedEarly,
    backend: result.backend,
    workers: result.workers,
    epochs: result.history,
  };
}
