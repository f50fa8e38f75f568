/**
 * The only sharp import in serving code: image bytes -> `RawImage` (8-bit sRGB, interleaved RGB, EXIF orientation
 * applied), with every limit enforced here and every failure turned into a typed `ApiError`:
 *
 * - accepted: JPEG, PNG, WebP, GIF, TIFF, AVIF/HEIF; animated GIF/WebP and multi-page TIFF decode their FIRST
 *   frame only (videos go through the video endpoint, not here);
 * - grayscale, CMYK, palette, alpha and 16-bit inputs come out as 8-bit sRGB RGB (alpha is dropped, like
 *   OpenCV's and PIL's RGB conversion: the colour under a transparent pixel is kept);
 * - SVG and every other loader we do not need are blocked (`sharp.block`), an SVG answers 415;
 * - decompression bombs are refused from the header alone, before any pixel is decoded: 413 `too_many_pixels`;
 * - empty, garbage, truncated or corrupt data: 422 `undecodable_image` naming the problem.
 */
import sharp, { type Metadata } from "sharp";
import { ApiError } from "./errors.ts";

/** A decoded image: interleaved 8-bit RGB, row-major, `data.length === width * height * 3`. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

/** Formats we decode; anything else sharp recognises answers 415. */
const ACCEPTED = new Set(["jpeg", "png", "webp", "gif", "tiff", "heif"]);

// Loaders that can read files, run a parser over untrusted XML or reach the network have no place in an API
// that receives photos. The prebuilt libvips has SVG; the others are listed in case a system libvips is used.
sharp.block({
  operation: [
    "VipsForeignLoadSvg",
    "VipsForeignLoadPdf",
    "VipsForeignLoadMagick",
    "VipsForeignLoadOpenslide",
    "VipsForeignLoadFits",
    "VipsForeignLoadMat",
    "VipsForeignLoadMatrix",
    "VipsForeignLoadPpm",
    "VipsForeignLoadRad",
    "VipsForeignLoadVips",
    "VipsForeignLoadCsv",
    "VipsForeignLoadAnalyze",
    "VipsForeignLoadJp2k",
    "VipsForeignLoadJxl",
  ],
});
// Every request decodes a different image once: libvips' operation cache would only hold memory. One libvips
// thread per image, because request-level parallelism (libuv pool) and onnxruntime's threads share the cores.
sharp.cache(false);
sharp.concurrency(1);

/** Limits and choices of one decode. */
export interface DecodeOptions {
  /** Largest accepted width x height of the first frame (default 40 MP, e.g. 8000x5000). */
  maxPixels?: number;
  /** Largest accepted encoded size in bytes (default: no limit here; the HTTP layer has its own). */
  maxInputBytes?: number;
}

function looksLikeSvg(bytes: Uint8Array): boolean {
  const head = new TextDecoder().decode(bytes.subarray(0, 256)).trimStart().toLowerCase();
  return head.startsWith("<svg") || (head.startsWith("<?xml") && head.includes("<svg")) ||
    head.startsWith("<!doctype svg");
}

/** Turns sharp's messages (some multi-line) into one clause for `Cannot decode image: ...`. */
function describe(err: unknown): string {
  const msg = String((err as Error)?.message ?? err).split("\n").map((s) => s.trim()).filter(Boolean).join(
    "; ",
  );
  if (/unsupported image format/i.test(msg)) return "unknown format (not JPEG, PNG, WebP, GIF, TIFF or AVIF)";
  if (/premature end|truncat|read error|unexpected end|corrupt/i.test(msg)) {
    return `truncated or corrupt data (${msg})`;
  }
  return msg;
}

/**
 * Decodes image bytes to 8-bit interleaved RGB with EXIF orientation applied. Throws `ApiError`:
 * 413 `payload_too_large` above `maxInputBytes`, 413 `too_many_pixels` when the header announces more than
 * `maxPixels` (checked before decoding, so a 20000x20000 PNG bomb costs a header read), 415
 * `unsupported_media_type` for a recognised but unaccepted format (SVG, raw), 422 `undecodable_image` for empty,
 * garbage, truncated or corrupt data. Animated images yield their first frame.
 */
export async function decodeImage(
  bytes: Uint8Array,
  { maxPixels = 40_000_000, maxInputBytes }: DecodeOptions = {},
): Promise<RawImage> {
  if (bytes.length === 0) {
    throw new ApiError("undecodable_image", "Cannot decode image: input is empty (0 bytes)");
  }
  if (maxInputBytes !== undefined && bytes.length > maxInputBytes) {
    throw new ApiError(
      "payload_too_large",
      `Cannot decode image: ${bytes.length} bytes is over the limit of ${maxInputBytes} bytes`,
    );
  }
  if (looksLikeSvg(bytes)) {
    throw new ApiError("unsupported_media_type", 'Cannot decode image: unsupported format "svg"');
  }
  let meta: Metadata;
  try {
    // Header only: metadata never decodes pixels, so the pixel limit is checked by us, with the real size.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ApiError("undecodable_image", `Cannot decode image: ${describe(err)}`, { cause: err });
  }
  const format = meta.format ?? "unknown";
  if (!ACCEPTED.has(format)) {
    throw new ApiError("unsupported_media_type", `Cannot decode image: unsupported format "${format}"`);
  }
  const width = meta.width ?? 0;
  // For animated images sharp reports the height of one frame as pageHeight.
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width <= 0 || height <= 0) {
    throw new ApiError("undecodable_image", `Cannot decode image: header gives size ${width}x${height}`);
  }
  if (width * height > maxPixels) {
    throw new ApiError(
      "too_many_pixels",
      `Cannot decode image: ${width}x${height} is ${width * height} pixels, over the limit of ${maxPixels}`,
    );
  }
  try {
    // limitInputPixels again as a second fence: the header check above is what normally refuses.
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, pages: 1, page: 0 })
      .rotate()
      .removeAlpha()
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      throw new Error(`decoder gave ${info.channels} channels for ${info.width}x${info.height}`);
    }
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      channels: 3,
    };
  } catch (err) {
    if (/exceeds pixel limit/i.test(String((err as Error)?.message))) {
      throw new ApiError("too_many_pixels", `Cannot decode image: over the limit of ${maxPixels} pixels`, {
        cause: err,
      });
    }
    throw new ApiError("undecodable_image", `Cannot decode image: ${describe(err)}`, { cause: err });
  }
}

/** Encodes interleaved 8-bit pixels (1, 3 or 4 channels) as PNG: aligned face crops, attention overlays. */
export async function encodePng(
  image: { data: Uint8Array | Uint8ClampedArray; width: number; height: number; channels: number },
): Promise<Uint8Array> {
  const channels = image.channels as 1 | 2 | 3 | 4;
  const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels } })
    .png({ compressionLevel: 6 })
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.length);
}

/** Encodes interleaved 8-bit pixels (1 or 3 channels) as JPEG: the trainer's prepared face crops. */
export async function encodeJpeg(
  image: { data: Uint8Array | Uint8ClampedArray; width: number; height: number; channels: number },
  { quality = 95 }: { quality?: number } = {},
): Promise<Uint8Array> {
  const raw = { width: image.width, height: image.height, channels: image.channels as 1 | 3 };
  const jpeg = await sharp(image.data, { raw }).jpeg({ quality }).toBuffer();
  return new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.length);
}

/**
 * `image` resized to `width` x `height` (aspect as given) by libvips on its thread pool, not on the event loop:
 * a 1920-px frame shrunk to BlazeFace's 128 px took 37-70 ms of main-thread JavaScript with a box prefilter.
 * Lanczos-3, which filters the whole footprint when shrinking, so small detail does not alias.
 */
export async function resizeImage(image: RawImage, width: number, height: number): Promise<RawImage> {
  const { data, info } = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
  }).resize(width, height, { fit: "fill", kernel: "lanczos3" }).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`Cannot resize image: got ${info.channels} channels, expected 3`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels: 3 };
}
