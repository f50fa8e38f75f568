/** `deno task train gradcam`: Grad-CAM heatmaps of a SCAN+CCI checkpoint over images (train/gradcam.ts). */
import { gradcam } from "../gradcam.ts";
import { type Command, mustExist, parseCommandArgs, printJson, UsageError } from "./args.ts";

const OPTIONS = {
  weights: { type: "string" },
  out: { type: "string" },
  class: { type: "string" },
} as const;

export const gradcamCommand: Command = {
  summary: "attention heatmaps for images (train/gradcam.ts)",
  help: `deno task train gradcam --weights CHECKPOINT_DIR|FILE.safetensors --out DIR [--class NAME] IMAGE...
Grad-CAM at the layer3 (Conv_4x) output, drawn as PNG heatmaps over each image; --class defaults to the
predicted class.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, OPTIONS, { positionals: true });
    if (!values.weights || !values.out || positionals.length === 0) {
      throw new UsageError("Cannot run Grad-CAM: --weights, --out and at least one IMAGE are required");
    }
    await mustExist(values.weights, "weights", "file or folder");
    for (const image of positionals) await mustExist(image, "image");
    const r = await gradcam({
      weights: values.weights,
      out: values.out,
      images: positionals,
      class: values.class,
    });
    printJson(r.map(({ cam: _c, ...rest }) => rest));
  },
};
