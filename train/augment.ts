/**
 * Training augmentation on uint8 RGB images, before normalisation, as in the reference transform
 * (`RandomHorizontalFlip(0.5)` then `ColorJitter(0.4, 0.3, 0.25, 0.05)`), drawn from a seeded, saveable RNG so
 * runs and resumes repeat exactly.
 *
 * What is done, per image and in this order of random draws: one draw for the flip; then, like torchvision's
 * ColorJitter, a random order of the four adjustments (Fisher-Yates over [brightness, contrast, saturation, hue])
 * and one factor per adjustment whose strength is > 0: brightness f ~ U[max(0, 1-b), 1+b] (x*f), contrast
 * f ~ U[max(0, 1-c), 1+c] (blend with the mean grey level of the image), saturation f ~ U[max(0, 1-s), 1+s]
 * (blend with each pixel's grey), hue h ~ U[-h, h] (rotate the HSV hue by h turns). Grey is ITU-R 601
 * (0.299, 0.587, 0.114) like PIL's "L". Differences from torchvision on PIL images: values stay float (clamped
 * to [0, 255]) between adjustments and are rounded once at the end, and the contrast mean is not rounded.
 */
import * as tf from "@tensorflow/tfjs";
import type { RawPixels } from "../model/preprocess.ts";
import type { Rng } from "./data/rng.ts";

/** Augmentation strengths, shaped like the recipe config's `augment`. */
export interface AugmentOptions {
  horizontalFlip: number;
  colorJitter: { brightness: number; contrast: number; saturation: number; hue: number };
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

function hueShift(px: Float32Array, h: number) {
  for (let o = 0; o < px.length; o += 3) {
    const r = px[o] / 255, g = px[o + 1] / 255, b = px[o + 2] / 255;
    const max = Math.max(r, g, b), min = Math.min(r, g, b), d = max - min;
    if (d === 0) continue; // grey pixels have no hue
    let hue = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    hue = (((hue / 6 + h) % 1) + 1) % 1;
    const s = d / max, v = max;
    const i = Math.floor(hue * 6), f = hue * 6 - i;
    const p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
    const [rr, gg, bb] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6];
    px[o] = rr * 255;
    px[o + 1] = gg * 255;
    px[o + 2] = bb * 255;
  }
}

/** Returns a flipped / colour-jittered copy of a 3-channel RGB image; the input is left untouched. */
export function augmentImage(image: RawPixels, rng: Rng, options: AugmentOptions): RawPixels {
  const { width, height, channels } = image;
  if (channels !== 3) throw new Error(`Cannot augment image: it has ${channels} channels, expected 3 (RGB)`);
  const px = new Float32Array(width * height * 3);
  const flip = rng.next() < options.horizontalFlip;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + (flip ? width - 1 - x : x)) * 3, d = (y * width + x) * 3;
      px[d] = image.data[s];
      px[d + 1] = image.data[s + 1];
      px[d + 2] = image.data[s + 2];
    }
  }
  const { brightness, contrast, saturation, hue } = options.colorJitter;
  const order = [0, 1, 2, 3];
  for (let i = 3; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const factor = (s: number) => Math.max(0, 1 - s) + rng.next() * (1 + s - Math.max(0, 1 - s));
  for (const op of order) {
    if (op === 0 && brightness > 0) {
      const f = factor(brightness);
      for (let k = 0; k < px.length; k++) px[k] = clamp(px[k] * f);
    } else if (op === 1 && contrast > 0) {
      const f = factor(contrast);
      let mean = 0;
      for (let k = 0; k < px.length; k += 3) mean += 0.299 * px[k] + 0.587 * px[k + 1] + 0.114 * px[k + 2];
      mean /= width * height;
      for (let k = 0; k < px.length; k++) px[k] = clamp(px[k] * f + mean * (1 - f));
    } else if (op === 2 && saturation > 0) {
      const f = factor(saturation);
      for (let k = 0; k < px.length; k += 3) {
        const g = (0.299 * px[k] + 0.587 * px[k + 1] + 0.114 * px[k + 2]) * (1 - f);
        px[k] = clamp(px[k] * f + g);
        px[k + 1] = clamp(px[k + 1] * f + g);
        px[k + 2] = clamp(px[k + 2] * f + g);
      }
    } else if (op === 3 && hue > 0) {
      hueShift(px, -hue + rng.next() * 2 * hue);
    }
  }
  const out = new Uint8Array(px.length);
  for (let k = 0; k < px.length; k++) out[k] = Math.round(px[k]);
  return { data: out, width, height, channels: 3 };
}

/**
 * Stacks RGB uint8 images into one NHWC float32 tensor with `x = (u8 / 255 - mean[c]) / std[c]`, the same
 * normalisation as model/preprocess.ts (which writes NCHW for ONNX).
 */
export function toBatchTensor(
  images: RawPixels[],
  { mean = [0.5, 0.5, 0.5], std = [0.5, 0.5, 0.5] }: { mean?: number[]; std?: number[] } = {},
): tf.Tensor4D {
  if (images.length === 0) throw new Error("Cannot build a batch: no images");
  const { width, height } = images[0];
  const plane = width * height;
  const out = new Float32Array(images.length * plane * 3);
  const mul = std.map((s) => 1 / (255 * s)), add = mean.map((m, c) => -m / std[c]);
  images.forEach((img, n) => {
    if (img.width !== width || img.height !== height || img.channels < 3) {
      throw new Error(
        `Cannot build a batch: image ${n} is ${img.width}x${img.height}x${img.channels}, expected ${width}x${height}x3`,
      );
    }
    const ch = img.channels, base = n * plane * 3;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) out[base + p * 3 + c] = img.data[p * ch + c] * mul[c] + add[c];
    }
  });
  return tf.tensor4d(out, [images.length, height, width, 3]);
}
