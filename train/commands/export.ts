/**
 * `deno task train export`: checkpoint or safetensors -> ONNX + manifest. The options and the export itself are
 * train/export.ts's; this command checks the usage first (required and exclusive options, named files exist) so
 * those mistakes exit 2 like every other command's.
 */
import { EXPORT_OPTIONS } from "../cli_options.ts";
import { main as exportMain } from "../export.ts";
import { type Command, mustExist, parseCommandArgs, UsageError } from "./args.ts";

export const exportCommand: Command = {
  summary: "checkpoint -> ONNX + manifest (train/export.ts)",
  help: `deno task train export (--checkpoint DIR | --weights FILE.safetensors) --out DIR [options]
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
  async run(args) {
    const { values } = parseCommandArgs(args, EXPORT_OPTIONS);
    const { checkpoint, weights } = values;
    if ((checkpoint === undefined) === (weights === undefined)) {
      throw new UsageError("Cannot export model: give exactly one of --checkpoint DIR or --weights FILE");
    }
    if (!values.out) throw new UsageError("Cannot export model: --out DIR is required");
    if (values.trained && values.untrained) {
      throw new UsageError("Cannot export model: give at most one of --trained and --untrained");
    }
    if (checkpoint !== undefined) await mustExist(checkpoint, "checkpoint", "folder");
    if (weights !== undefined) await mustExist(weights, "weights");
    for (const f of values.metrics ?? []) await mustExist(f, "metrics");
    await exportMain(args);
  },
};
