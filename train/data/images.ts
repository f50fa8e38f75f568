/**
 * Image loading for training and evaluation: a sample's image (file, optionally cropped to its face box, or the
 * inline FER2013 pixels) -> 224x224 interleaved RGB uint8, the RawPixels that model/preprocess.ts toTensor takes.
 * Serving decodes through src/image.ts; the trainer has its own sharp call because it reads trusted local files
 * in bulk and needs box crops, but it applies the same EXIF rotation and "fill" resize so both see the same
 * pixels for the same aligned crop.
 */
import sharp from "sharp";
import type { RawPixels } from "../../model/preprocess.ts";
import type { Box, Sample } from "./sample.ts";

/** Options of {@link loadImage}. */
export interface LoadImageOptions {
  /** Output side in pixels. Default 224 (SCAN+CCI input). */
  size?: number;
  /** Grow the face box by this fraction of its size on each side before cropping. Default 0. */
  margin?: number;
}

/** Clamps a (possibly fractional, possibly out-of-image) box to integer pixels inside the image. */
export function clampBox(box: Box, width: number, height: number, margin = 0): Box {
  const x0 = Math.max(0, Math.floor(box.x - margin * box.width));
  const y0 = Math.max(0, Math.floor(box.y - margin * box.height));
  const x1 = Math.min(width, Math.ceil(box.x + box.width * (1 + margin)));
  const y1 = Math.min(height, Math.ceil(box.y + box.height * (1 + margin)));
  if (x1 - x0 < 1 || y1 - y0 < 1) {
    throw new Error(
      `Cannot crop face: box ${JSON.stringify(box)} lies outside the ${width}x${height} image`,
    );
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Decodes image bytes (or a path), crops `box` if given, and resizes to size x size RGB. */
export async function decodeToRgb(
  input: Uint8Array | string,
  { size = 224, margin = 0, box }: LoadImageOptions & { box?: Box } = {},
): Promise<RawPixels> {
  let img = sharp(input, { limitInputPixels: 100_000_000 }).rotate();
  if (box) {
    // Decode (EXIF-rotated) once to raw pixels, then crop and resize the raw buffer: boxes are in displayed
    // coordinates, and a second decode of a large scene would double the cost.
    const full = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const { width, height, channels } = full.info;
    const c = clampBox(box, width, height, margin);
    img = sharp(full.data, { raw: { width, height, channels } })
      .extract({ left: c.x, top: c.y, width: c.width, height: c.height });
  }
  const { data, info } = await img
    .resize(size, size, { fit: "fill" })
    .removeAlpha()
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
}

/** Expands 1-channel pixels to interleaved RGB (gray replicated), which toTensor and augmentation expect. */
function grayToRgb(p: RawPixels): RawPixels {
  if (p.channels === 3) return p;
  const out = new Uint8Array(p.width * p.height * 3);
  for (let i = 0, j = 0; i < p.width * p.height; i++, j += 3) {
    const v = p.data[i * p.channels];
    out[j] = v;
    out[j + 1] = v;
    out[j + 2] = v;
  }
  return { data: out, width: p.width, height: p.height, channels: 3 };
}

/**
 * Loads one sample as size x size interleaved RGB uint8. FER2013 samples are resized from their inline 48x48
 * gray pixels; others are read from `path` and cropped to `box` when the dataset ships full scenes.
 * Errors name the sample's path and source line.
 */
export async function loadImage(
  sample: Sample,
  { size = 224, margin = 0 }: LoadImageOptions = {},
): Promise<RawPixels> {
  try {
    if (sample.pixels) {
      const p = sample.pixels;
      const { data, info } = await sharp(p.data, {
        raw: { width: p.width, height: p.height, channels: p.channels as 1 | 3 },
      })
        .resize(size, size, { fit: "fill" })
        .raw()
        .toBuffer({ resolveWithObject: true });
      return grayToRgb({
        data: new Uint8Array(data),
        width: info.width,
        height: info.height,
        channels: info.channels,
      });
    }
    return grayToRgb(await decodeToRgb(sample.path, { size, margin, box: sample.box }));
  } catch (err) {
    throw new Error(`Cannot load image "${sample.path}" (${sample.source}): ${(err as Error).message}`);
  }
}

/**
 * Loads many samples with bounded concurrency (sharp decodes on its own thread pool, so a few in flight keep
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
  const img = sharp(pixels.data, {
    raw: { width: pixels.width, height: pixels.height, channels: pixels.channels as 1 | 3 | 4 },
  });
  const buf = format === "png" ? await img.png().toBuffer() : await img.jpeg({ quality: 95 }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}
