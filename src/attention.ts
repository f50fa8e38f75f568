/**
 * Turns SCAN's spatial attention map (one low-resolution grid per face) into something a person can look at: the
 * map is upsampled bilinearly to the aligned face crop, min-max normalised, coloured with a jet-like colormap and
 * blended over the crop, then encoded as a PNG data URL.
 */
import { Buffer } from "node:buffer";
import type { FloatPixels, RawPixels } from "../model/preprocess.ts";

/** Bilinear resize of interleaved 8-bit pixels (half-pixel centres), keeping the channel count. */
export function resizeRgb(image: RawPixels, width: number, height: number): RawPixels {
  const { width: w, height: h, channels: ch, data } = image;
  const out = new Uint8Array(width * height * ch);
  const sx = w / width, sy = h / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(h - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy), y1 = Math.min(h - 1, y0 + 1), wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(w - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx), x1 = Math.min(w - 1, x0 + 1), wx = fx - x0;
      for (let c = 0; c < ch; c++) {
        const a = data[(y0 * w + x0) * ch + c], b = data[(y0 * w + x1) * ch + c];
        const d = data[(y1 * w + x0) * ch + c], e = data[(y1 * w + x1) * ch + c];
        out[(y * width + x) * ch + c] = Math.round(
          (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy,
        );
      }
    }
  }
  return { data: out, width, height, channels: ch };
}

function jet(v: number): [number, number, number] {
  const r = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - 3)));
  const g = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - 2)));
  const b = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * v - 1)));
  return [r * 255, g * 255, b * 255];
}

/**
 * Blends a square attention grid (`map.length === s*s`) over `crop` and returns `data:image/png;base64,...`.
 * `encode` is the PNG encoder (src/image.ts `encodePng`), passed in so this stays free of native imports.
 */
export async function attentionOverlay(
  crop: RawPixels | FloatPixels,
  map: Float32Array,
  encode: (img: RawPixels) => Promise<Uint8Array>,
  { opacity = 0.5 }: { opacity?: number } = {},
): Promise<string> {
  const s = Math.round(Math.sqrt(map.length));
  let lo = Infinity, hi = -Infinity;
  for (const v of map) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const range = hi - lo || 1;
  const grid = new Uint8Array(map.length);
  map.forEach((v, i) => grid[i] = Math.round(((v - lo) / range) * 255));
  const heat = resizeRgb({ data: grid, width: s, height: s, channels: 1 }, crop.width, crop.height);
  const out = new Uint8Array(crop.width * crop.height * 3);
  for (let p = 0; p < crop.width * crop.height; p++) {
    const [r, g, b] = jet(heat.data[p] / 255);
    const src = p * crop.channels;
    const base = crop.channels >= 3 ? [crop.data[src], crop.data[src + 1], crop.data[src + 2]] : [
      crop.data[src],
      crop.data[src],
      crop.data[src],
    ];
    out[p * 3] = Math.round(base[0] * (1 - opacity) + r * opacity);
    out[p * 3 + 1] = Math.round(base[1] * (1 - opacity) + g * opacity);
    out[p * 3 + 2] = Math.round(base[2] * (1 - opacity) + b * opacity);
  }
  const png = await encode({ data: out, width: crop.width, height: crop.height, channels: 3 });
  return `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
}
