/** `deno task train fit`: trains SCAN+CCI with a config, then writes history.json and the loss/score plots. */
import { join } from "node:path";
import { loadConfig, type TrainConfig } from "../config.ts";
import { checkDatasetRoot } from "../data/read.ts";
import { fit } from "../fit.ts";
import { loadValidationData } from "../fit_data.ts";
import { type EpochPoint, writePlots } from "../plots.ts";
import { createProgress } from "../progress.ts";
import { type Command, mustExist, need, parseCommandArgs, positiveInt, printJson } from "./args.ts";

const OPTIONS = {
  config: { type: "string" },
  resume: { type: "boolean" },
  epochs: { type: "string" },
  out: { type: "string" },
} as const;

export const fitCommand: Command = {
  summary: "train SCAN+CCI with a config (train/fit.ts)",
  help: `deno task train fit --config train.json [--resume] [--epochs N] [--out DIR]
Trains with the recipe; writes checkpoints to config.checkpoint.dir, history.json and loss/score plots to
config.outDir (or --out). Ctrl-C stops after the current step with a resumable checkpoint.`,
  async run(args) {
    const { values } = parseCommandArgs(args, OPTIONS);
    const path = need(values.config, "config");
    await mustExist(path, "config");
    let config: TrainConfig = await loadConfig(path);
    if (values.resume) config = { ...config, resume: true };
    if (values.epochs !== undefined) config = { ...config, epochs: positiveInt(values.epochs, "epochs", 1) };
    if (values.out !== undefined) config = { ...config, outDir: values.out };
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
      const points: EpochPoint[] = result.history.map((h) => ({
        epoch: h.epoch,
        trainLoss: h.loss,
        valLoss: h.validation?.loss,
        accuracy: h.validation?.accuracy,
      }));
      await Deno.mkdir(config.outDir, { recursive: true });
      await Deno.writeTextFile(
        join(config.outDir, "history.json"),
        JSON.stringify(result.history, null, 2) + "\n",
      );
      const plots = points.length ? await writePlots(config.outDir, { history: points }) : [];
      printJson({ ...result, model: undefined, plots });
    } finally {
      Deno.removeSignalListener("SIGINT", onSigint);
    }
  },
};
