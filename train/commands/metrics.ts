/** `deno task train metrics`: scores a predictions file against a labels file. */
import { CANONICAL_LABELS, OTHER_LABEL } from "../../model/spec.ts";
import { computeMetrics, pairLabels, parseLabelFile } from "../metrics.ts";
import { writePlots } from "../plots.ts";
import { type Command, mustExist, need, oneOf, parseCommandArgs, printJson } from "./args.ts";

const OPTIONS = {
  labels: { type: "string" },
  predictions: { type: "string" },
  average: { type: "string" },
  out: { type: "string" },
  other: { type: "boolean" },
} as const;

export const metricsCommand: Command = {
  summary: "score a predictions file against a labels file",
  help:
    `deno task train metrics --labels FILE --predictions FILE [--average all|present] [--other] [--out DIR]
  --other            score 8 classes (ABAW3+ files with Other = 7); default the canonical 7
Files hold one class index (canonical order) or name per line; an Aff-Wild2 annotation (class-name header);
or the ABAW submission format (image_location,Neutral,... header; video/00001.jpg,<label>). Labels of -1 are
ignored. Prints {accuracy, f1_macro, abaw2020, per_class, confusion} as JSON; --out also writes confusion.svg.`,
  async run(args) {
    const { values } = parseCommandArgs(args, OPTIONS);
    const labelsFile = need(values.labels, "labels"), predFile = need(values.predictions, "predictions");
    await mustExist(labelsFile, "labels file");
    await mustExist(predFile, "predictions file");
    const average = oneOf(values.average, "average", ["all", "present"], "all");
    const labels = values.other ? [...CANONICAL_LABELS, OTHER_LABEL] : CANONICAL_LABELS;
    const truth = parseLabelFile(await Deno.readTextFile(labelsFile), labelsFile, { labels });
    const pred = parseLabelFile(await Deno.readTextFile(predFile), predFile, { labels });
    const pairs = pairLabels(truth, pred, { truthSource: labelsFile, predictedSource: predFile });
    const m = computeMetrics(pairs.truth, pairs.predicted, { average, labels });
    if (values.out !== undefined) await writePlots(values.out, { confusion: m.confusion, labels: m.labels });
    printJson({ ...m, ignored: pairs.ignored });
  },
};
