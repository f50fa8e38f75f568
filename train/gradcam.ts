/**
 * Grad-CAM (Selvaraju et al.) for SCAN+CCI at the layer3 (Conv_4x) output, the 14x14 map the CCI branch reads:
 * the gradient of one class's final logit (mean of the five heads) with respect to the layer3 activations is
 * averaged over space to weight each channel, the weighted channel sum is passed through ReLU, normalised to
 * 0..1, bilinearly upsampled 14 -> 224 and drawn as a jet heatmap over the image (PNG, through the engine's image door).
 *
 *   deno task train gradcam --weights CHECKPOINT_DIR|FILE.safetensors --out DIR [--class happiness] IMAGE...
 *
 * Only the CCI heads depend on layer3 (the SCAN heads read layer2), so the map explains their share of the logit.
 */
import * as tf from "@tensorflow/tfjs";
import { basename, extname, join } from "node:path";
import type { RawPixels } from "../model/preprocess.ts";
import type { TensorData } from "../model/scan_cci/params.ts";
import { readSafetensors } from "../model/weights/safetensors.ts";
import { CANONICAL_LABELS, canonicalIndex } from "../model/spec.ts";
import { createScanCci, type ScanCci } from "./arch.ts";
import { encodePng } from "../src/mod.ts";
import { toBatchTensor } from "./augment.ts";
import { initBackend } from "./backend.ts";
import { loadCheckpoint } from "./checkpoint.ts";
import { decodeToRgb } from "./data/images.ts";

/** One explained image. */
export interface GradCamResult {
  /** Written PNG overlay (null when `out` was not given). */
  file: string | null;
  /** Class index explained, and its name. */
  class: number;
  label: string;
  /** Softmax of the averaged logits. */
  probabilities: number[];
  /** The 14x14 map (0..1, row-major) before upsampling. */
  cam: Float32Array;
}

/** Options of {@link gradcam}. */
export interface GradCamOptions {
  /** Checkpoint folder, safetensors file, reference-named tensors, or a ready model. */
  weights: string | Map<string, TensorData> | ScanCci;
  /** Image files, or decoded 224x224 RGB images. */
  images: (string | RawPixels)[];
  /** Folder for `<name>-gradcam.png` overlays; omit to only compute maps. */
  out?: string;
  /** Class to explain (index or label name); default each image's predicted class. */
  class?: number | string;
  labels?: readonly string[];
  /** Heatmap opacity over the image. */
  alpha?: number;
  normalize?: { mean: number[]; std: number[] };
}

function jet(v: number): [number, number, number] {
  const c = (x: number) => Math.round(255 * Math.min(1, Math.max(0, x)));
  return [c(1.5 - Math.abs(4 * v - 3)), c(1.5 - Math.abs(4 * v - 2)), c(1.5 - Math.abs(4 * v - 1))];
}

async function loadModel(weights: GradCamOptions["weights"]): Promise<{ model: ScanCci; owned: boolean }> {
  if (typeof weights === "object" && "apply" in weights) return { model: weights, owned: false };
  let tensors: Map<string, TensorData>;
  if (typeof weights === "string") {
    const stat = await Deno.stat(weights);
    tensors = stat.isDirectory
      ? (await loadCheckpoint(weights)).weights
      : readSafetensors(await Deno.readFile(weights)) as Map<string, TensorData>;
  } else tensors = weights;
  const conv1 = tensors.get("base.conv1.weight"), fc = tensors.get("attention.fc.weight");
  if (!conv1 || !fc) {
    throw new Error("Cannot run Grad-CAM: weights lack base.conv1.weight or attention.fc.weight");
  }
  return {
    model: createScanCci({ width: 64 / conv1.shape[0], classes: fc.shape[0], weights: tensors }),
    owned: true,
  };
}

/**
 * Computes Grad-CAM maps (eval mode) for each image and, with `out`, writes heatmap overlays. Throws
 * `Cannot run Grad-CAM: …` for an unknown class name or unreadable weights.
 */
export async function gradcam(
  { weights, images, out, class: cls, labels = CANONICAL_LABELS, alpha = 0.45, normalize }: GradCamOptions,
): Promise<GradCamResult[]> {
  await initBackend();
  const { model, owned } = await loadModel(weights);
  const target = typeof cls === "string"
    ? (labels.indexOf(cls) >= 0 ? labels.indexOf(cls) : canonicalIndex(cls))
    : cls;
  if (target !== undefined && !(target >= 0 && target < model.classes)) {
    throw new Error(`Cannot run Grad-CAM: class "${cls}" is not one of ${labels.join(", ")}`);
  }
  if (out) await Deno.mkdir(out, { recursive: true });
  const results: GradCamResult[] = [];
  try {
    for (const [i, src] of images.entries()) {
      const img = typeof src === "string" ? await decodeToRgb(src, { size: 224 }) : src;
      const x = toBatchTensor([img], normalize);
      const probs = tf.tidy(() => tf.softmax(model.apply(x).logits).dataSync() as Float32Array);
      const c = target ?? probs.indexOf(Math.max(...probs));
      const cam = tf.tidy(() => {
        const a = tf.tidy(() => model.apply(x).layer3);
        // d logit_c / d layer3, with layer3 swapped for `t` so the gradient stops there.
        const grad = tf.grad((t: tf.Tensor) =>
          tf.sum(tf.slice(model.apply(x, { layer3Hook: () => t as tf.Tensor4D }).logits, [0, c], [1, 1]))
        )(a);
        const w = tf.mean(grad, [1, 2], true);
        const map = tf.relu(tf.sum(tf.mul(a, w), 3)); // [1, 14, 14]
        return tf.div(map, tf.maximum(tf.max(map), 1e-12)).dataSync() as Float32Array;
      });
      x.dispose();
      let file: string | null = null;
      if (out) {
        const up = tf.tidy(() =>
          tf.image.resizeBilinear(tf.tensor4d(cam, [1, 14, 14, 1]), [img.height, img.width]).dataSync()
        );
        const rgb = new Uint8Array(img.width * img.height * 3);
        for (let p = 0; p < up.length; p++) {
          const h = jet(up[p]);
          for (let k = 0; k < 3; k++) {
            rgb[p * 3 + k] = Math.round((1 - alpha) * img.data[p * img.channels + k] + alpha * h[k]);
          }
        }
        const name = typeof src === "string" ? basename(src, extname(src)) : `image-${i}`;
        file = join(out, `${name}-gradcam.png`);
        await Deno.writeFile(
          file,
          await encodePng({ data: rgb, width: img.width, height: img.height, channels: 3 }),
        );
      }
      results.push({ file, class: c, label: labels[c] ?? String(c), probabilities: Array.from(probs), cam });
    }
  } finally {
    if (owned) model.dispose();
  }
  return results;
}
