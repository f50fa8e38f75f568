/**
 * Pixels -> normalised NCHW float32, the one function training and serving both call. Input is interleaved
 * RGB (or RGBA, or gray) uint8 of exactly the model's input size; resizing and alignment happen before this.
 */
import type { InputSpec } from "./manifest.ts";

export interface RawPixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: number;
}

/** Pixels as unrounded float 0..255 values from a resize (face-api's nets are fed those, not 8-bit). */
export interface FloatPixels {
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * Writes one image into `out` at `offset` (in floats) as planar CHW (or interleaved HWC when `spec.layout` is
 * "NHWC"), applying `x = (u8 * scale - mean) / std` per channel in the spec's channel order. Returns `out`.
 * Throws if the size does not match the spec.
 */
export function toTensor(
  image: RawPixels | FloatPixels,
  spec:
    & Pick<InputSpec, "size" | "scale" | "mean" | "std" | "channelOrder">
    & Partial<Pick<InputSpec, "layout">>,
  out = new Float32Array(3 * spec.size.width * spec.size.height),
  offset = 0,
): Float32Array {
  const { width, height } = spec.size;
  if (image.width !== width || image.height !== height) {
    throw new Error(
      `Cannot preprocess image: it is ${image.width}x${image.height}, expected ${width}x${height}`,
    );
  }
  const plane = width * height;
  const ch = image.channels;
  const order = spec.channelOrder === "BGR" ? [2, 1, 0] : [0, 1, 2];
  const outChannels = spec.channelOrder === "GRAY" ? 1 : 3;
  for (let c = 0; c < outChannels; c++) {
    const src = ch >= 3 ? order[c] : 0;
    const mul = spec.scale / spec.std[c];
    const add = -spec.mean[c] / spec.std[c];
    if (spec.layout === "NHWC") {
      for (let p = 0, s = src, o = offset + c; p < plane; p++, s += ch, o += outChannels) {
        out[o] = image.data[s] * mul + add;
      }
      continue;
    }
    const base = offset + c * plane;
    for (let p = 0, s = src; p < plane; p++, s += ch) out[base + p] = image.data[s] * mul + add;
  }
  return out;
}
