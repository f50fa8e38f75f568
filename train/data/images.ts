/**
 * Image loading for training and evaluation: a sample's image (file, optionally cropped to its face box, or the
 * inline FER2013 pixels) -> size x size interleaved RGB uint8, the RawPixels that model/preprocess.ts toTensor
 * takes. Decoding, cropping and resizing go through the serving engine (src/mod.ts: `decodeImage`,
 * `prepareFaceInput`), so training sees byte for byte the pixels serving feeds a model for the same image and
 * face box: FER2013's 48x48 crops are upscaled to 224x224 by the very function serving calls.
 */
import type { InputSpec } from "../../model/manifest.ts";
import type { FloatPixels, RawPixels } from "../../model/preprocess.ts";
import {
  type Box,
  decodeImage,
  encodeJpeg,
  encodePng,
  prepareFaceInput,
  type RawImage,
} from "../../src/mod.ts";
import type { Sample } from "./sample.ts";

/** Options of {@link loadImage}. */
export interface LoadImageOptions {
  /** Output side in pixels. Default 224 (SCAN+CCI input). */
  size?: number;
  /** Grow the face box by this fraction of its size on each side before cropping. Default 0. */
  margin?: number;
}

/** Largest image the trainer decodes (datasets are trusted local files; serving's default is 40 MP). */
const MAX_PIXELS = 100_000_000;

/**
 * The face box to crop: `box` grown by `margin` of its size on each side, then clipped to the image (as the
 * serving detector clips its boxes). Throws `Cannot crop face: ...` when nothing of it lies inside the image.
 */
export function faceBox(box: Box, width: number, height: number, margin = 0): Box {
  const x0 = Math.max(0, box.x - margin * box.width), y0 = Math.max(0, box.y - margin * box.height);
  const x1 = Math.min(width, box.x + box.width * (1 + margin));
  const y1 = Math.min(height, box.y + box.height * (1 + margin));
  if (!(x1 - x0 > 0 && y1 - y0 > 0)) {
    throw new Error(`Cannot crop face: box ${JSON.stringify(box)} lies outside the ${width}x${height} image`);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * Serving's model input for `box` (or the whole image) under `spec`'s size and resize: `prepareFaceInput`
 * itself, so the same pixels as an API request with that face box. `fill` gives 8-bit RGB, `pad-square`
 * face-api's unrounded float pixels.
 */
export function prepareInput(
  image: RawImage,
  box: Box | undefined,
  spec: Pick<InputSpec, "size" | "resize">,
  margin = 0,
): RawPixels | FloatPixels {
  const face = box ? { box: faceBox(box, image.width, image.height, margin), score: 1 } : null;
  return prepareFaceInput(image, face, spec);
}

/**
 * Serving's `fill` crop of `box` (or of the whole image) stretched to size x size: the same function, so the same
 * pixels, as an API request with that face box.
 */
export function cropFace(
  image: RawImage,
  box: Box | undefined,
  { size = 224, margin = 0 }: LoadImageOptions = {},
): RawImage {
  // `fill` always yields 8-bit pixels (alignedCrop); only pad-square yields floats.
  return prepareInput(
    image,
    box,
    { size: { width: size, height: size }, resize: "fill" },
    margin,
  ) as RawImage;
}

/** Decodes image bytes (or a path) to 8-bit RGB with EXIF orientation applied, through the engine's image door. */
export async function readImage(input: Uint8Array | string): Promise<RawImage> {
  return await decodeImage(typeof input === "string" ? await Deno.readFile(input) : input, {
    maxPixels: MAX_PIXELS,
  });
}

/** Decodes image bytes (or a path), crops `box` if given (displayed coordinates), and resizes to size x size. */
export async function decodeToRgb(
  input: Uint8Array | string,
  { size = 224, margin = 0, box }: LoadImageOptions & { box?: Box } = {},
): Promise<RawPixels> {
  return cropFace(await readImage(input), box, { size, margin });
}

/** A sample's whole image at its native size as RGB: FER2013's inline gray pixels replicated, others decoded. */
export async function sampleImage(sample: Sample): Promise<RawImage> {
  const p = sample.pixels;
  if (!p) return await readImage(sample.path);
  const data = new Uint8Array(p.width * p.height * 3);
  for (let i = 0; i < p.width * p.height; i++) {
    for (let c = 0; c < 3; c++) data[3 * i + c] = p.data[i * p.channels + (p.channels >= 3 ? c : 0)];
  }
  return { data, width: p.width, height: p.height, channels: 3 };
}

/**
 * Loads one sample as size x size interleaved RGB uint8: its image (FER2013's inline 48x48 gray as RGB), cropped
 * to `box` when the dataset ships full scenes. Errors name the sample's path and source line.
 */
export async function loadImage(
  sample: Sample,
  { size = 224, margin = 0 }: LoadImageOptions = {},
): Promise<RawPixels> {
  try {
    return cropFace(await sampleImage(sample), sample.box, { size, margin });
  } catch (err) {
    throw new Error(`Cannot load image "${sample.path}" (${sample.source}): ${(err as Error).message}`);
  }
}

/**
 * Loads one sample as the input `spec` describes (size and resize: `fill` for SCAN+CCI, `pad-square` for
 * face-api's nets) through serving's `prepareFaceInput`. Errors name the sample's path and source line.
 */
export async function loadInput(
  sample: Sample,
  spec: Pick<InputSpec, "size" | "resize">,
): Promise<RawPixels | FloatPixels> {
  try {
    return prepareInput(await sampleImage(sample), sample.box, spec);
  } catch (err) {
    throw new Error(`Cannot load image "${sample.path}" (${sample.source}): ${(err as Error).message}`);
  }
}

/**
 * Loads many samples with bounded concurrency (decoding runs on sharp's thread pool, so a few in flight keep
 * the cores busy without holding every decoded image in memory).
 */
export async function loadImages(
  samples: readonly Sample[],
  { size = 224, margin = 0, concurrency = 4 }: LoadImageOptions & { concurrency?: number } = {},
): Promise<RawPixels[]> {
  const out = new Array<RawPixels>(samples.length);
  let next = 0;
  async function worker() {
    while (next < samples.length) {
      const i = next++;
      out[i] = await loadImage(samples[i], { size, margin });
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, samples.length) }, worker));
  return out;
}

/** Encodes interleaved RGB (or gray) pixels as JPEG (quality 95) or PNG, for `prepare`'s aligned crops. */
export async function encodeImage(pixels: RawPixels, format: "jpg" | "png" = "jpg"): Promise<Uint8Array> {
  return format === "png" ? await encodePng(pixels) : await encodeJpeg(pixels, { quality: 95 });
}
