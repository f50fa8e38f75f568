/** `deno task train prepare`: detect + align faces into crops with a JSONL manifest (resumable, shardable). */
import { readDataset } from "../data/read.ts";
import { cropAligner, faceAligner, mergeShards, parseShard, prepareDataset } from "../prepare.ts";
import { createProgress } from "../progress.ts";
import {
  type Command,
  datasetArg,
  need,
  oneOf,
  parseCommandArgs,
  positiveInt,
  printJson,
  usage,
} from "./args.ts";

const OPTIONS = {
  dataset: { type: "string" },
  out: { type: "string" },
  shard: { type: "string" },
  merge: { type: "boolean" },
  align: { type: "string" },
  models: { type: "string" },
  format: { type: "string" },
  concurrency: { type: "string" },
} as const;

export const prepareCommand: Command = {
  summary: "detect + align faces into 224x224 crops with a JSONL manifest (resumable, shardable)",
  help: `deno task train prepare --dataset <reader:root[:split]> --out DIR [options]
  --shard i/N        prepare only the items of shard i (0-based) of N (deterministic by item key)
  --merge            after preparing, merge all shard manifests in DIR into manifest.jsonl
  --align faces|box  faces: detect + five-point align (src/faces/, needs "deno task models"); box: crop the
                     dataset's box (or the whole image) and resize. Default faces
  --models DIR       face model folder for --align faces (default model)
  --format jpg|png   crop encoding (default jpg)
  --concurrency N    images in flight (default 4)
  --split-name NAME  only with --dataset of a reader without splits: record this split name`,
  async run(args) {
    const { values } = parseCommandArgs(args, OPTIONS);
    const outDir = need(values.out, "out");
    const shard = values.shard === undefined ? undefined : usage(() => parseShard(values.shard!));
    const source = datasetArg(need(values.dataset, "dataset"));
    const { samples, skipped } = await readDataset(source);
    const alignMode = oneOf(values.align, "align", ["faces", "box"], "faces");
    const format = oneOf(values.format, "format", ["jpg", "png"], "jpg");
    const face = alignMode === "faces" ? await faceAligner({ modelDir: values.models ?? "model" }) : null;
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
        concurrency: positiveInt(values.concurrency, "concurrency", 4),
        onItem: () => progress.tick(),
      });
      progress.done();
      const merged = values.merge ? await mergeShards(outDir) : undefined;
      printJson({ ...r, readerSkipped: skipped, merged });
    } finally {
      await face?.release();
    }
  },
};
