/**
 * face-api's input preparation, reproduced bit for bit in plain TypeScript so the ONNX nets see the same numbers
 * TensorFlow.js would: cut an integer box out of the image (`tf.slice3d`), pad it to a square with zeros
 * (`padToSquare`: all padding at the bottom/right, or split with the larger half at the bottom/right when
 * centred), then `tf.image.resizeBilinear(x, [size, size], alignCorners = false, halfPixelCenters = false)`.
 * The result is float32 NHWC RGB 0..255, unrounded, as face-api feeds its nets.
 */
import type { RawImage } from "../image.ts";
import type { Box } from "../box.ts";

/** A `Box` with integer coordinates inside the image (what a crop cuts out). */
export type IntBox = Box;

/** Where the crop sits in its square and where it is written. */
export interface PadResizeOptions {
  /** Centre the crop in its square (face-api's landmark and expression nets) or pad bottom/right (SSD). */
  center?: boolean;
  /** Write into this array at `offset` (floats) instead of allocating; lets callers fill a batch in place. */
  out?: Float32Array;
  offset?: number;
}

/**
 * Crops `box` (integers, inside the image) from `image`, pads it to a square and resizes to `size`x`size` the
 * way face-api's `NetInput.toBatchTensor` does. Returns interleaved float32 RGB (size*size*3 values).
 */
export function padSquareResize(
  image: RawImage,
  box: IntBox,
  size: number,
  { center = false, out = new Float32Array(size * size * 3), offset = 0 }: PadResizeOptions = {},
): Float32Array {
  const { x, y, width: w, height: h } = box;
  if (w <= 0 || h <= 0 || x < 0 || y < 0 || x + w > image.width || y + h > image.height) {
    throw new Error(
      `Cannot crop face: box ${w}x${h}+${x}+${y} is outside the ${image.width}x${image.height} image`,
    );
  }
  const side = Math.max(w, h);
  const diff = side - Math.min(w, h);
  // padToSquare appends round(diff * 0.5) (centred) or diff at the end and prepends the rest.
  const before = center ? diff - Math.round(diff * 0.5) : 0;
  const offX = w < h ? before : 0;
  const offY = h < w ? before : 0;
  const ratio = side / size;
  const src = image.data, stride = image.width * 3;
  // Per output column: the two source columns (in image coordinates, -1 when in the padding) and the weight.
  const col0 = new Int32Array(size), col1 = new Int32Array(size), colFrac = new Float64Array(size);
  for (let c = 0; c < size; c++) {
    const f = ratio * c;
    const lo = Math.max(0, Math.floor(f));
    const hi = Math.min(side - 1, Math.ceil(f));
    colFrac[c] = f - lo;
    col0[c] = lo - offX >= 0 && lo - offX < w ? (x + lo - offX) * 3 : -1;
    col1[c] = hi - offX >= 0 && hi - offX < w ? (x + hi - offX) * 3 : -1;
  }
  let o = offset;
  for (let r = 0; r < size; r++) {
    const f = ratio * r;
    const lo = Math.max(0, Math.floor(f));
    const hi = Math.min(side - 1, Math.ceil(f));
    const rowFrac = f - lo;
    const row0 = lo - offY >= 0 && lo - offY < h ? (y + lo - offY) * stride : -1;
    const row1 = hi - offY >= 0 && hi - offY < h ? (y + hi - offY) * stride : -1;
    if (row0 < 0 && row1 < 0) {
      out.fill(0, o, o + size * 3); // a padding row
      o += size * 3;
      continue;
    }
    for (let c = 0; c < size; c++, o += 3) {
      const a = col0[c], b = col1[c], cf = colFrac[c];
      if (row0 >= 0 && row1 >= 0 && a >= 0 && b >= 0) {
        // Interior: all four neighbours exist (the common case; same arithmetic as below, unrolled).
        const p00 = row0 + a, p01 = row0 + b, p10 = row1 + a, p11 = row1 + b;
        for (let k = 0; k < 3; k++) {
          const tl = src[p00 + k], tr = src[p01 + k], bl = src[p10 + k], br = src[p11 + k];
          const top = tl + (tr - tl) * cf;
          const bottom = bl + (br - bl) * cf;
          out[o + k] = top + (bottom - top) * rowFrac;
        }
        continue;
      }
      for (let k = 0; k < 3; k++) {
        const tl = row0 >= 0 && a >= 0 ? src[row0 + a + k] : 0;
        const tr = row0 >= 0 && b >= 0 ? src[row0 + b + k] : 0;
        const bl = row1 >= 0 && a >= 0 ? src[row1 + a + k] : 0;
        const br = row1 >= 0 && b >= 0 ? src[row1 + b + k] : 0;
        const top = tl + (tr - tl) * cf;
        const bottom = bl + (br - bl) * cf;
        out[o + k] = top + (bottom - top) * rowFrac;
      }
    }
  }
  return out;
}
