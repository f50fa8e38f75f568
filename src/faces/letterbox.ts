/**
 * Drawing a frame at a chosen size onto the centre of a mid-grey square canvas (a letterbox): the input of the
 * SSD's close-up pyramid (src/faces/multiscale.ts) and of BlazeFace (src/faces/blazeface.ts), which both need the
 * whole frame, aspect kept, inside a fixed square.
 */
import { type RawImage, resizeImage } from "../image.ts";

/** Mid grey: what the frame is padded with (black padding reads as a dark frame edge to the SSD). */
const GREY = 128;

/** Where a `W` x `H` frame lands when scaled so its longer side is `inner`, centred in a `side` square. */
function place(W: number, H: number, inner: number, side: number) {
  const scale = inner / Math.max(W, H);
  const w = Math.max(1, Math.min(side, Math.round(W * scale))),
    h = Math.max(1, Math.min(side, Math.round(H * scale)));
  return { scale, w, h, x0: Math.floor((side - w) / 2), y0: Math.floor((side - h) / 2) };
}

/**
 * The frame scaled so its longer side is `inner` pixels, onto the centre of a `side` x `side` grey canvas (bilinear, with a box
 * prefilter when shrinking by more than 2x so small detail does not alias), mirrored left-right when asked, and
 * where it landed.
 */
export function padOntoCanvas(
  image: RawImage,
  inner: number,
  side: number,
  { mirror = false }: { mirror?: boolean } = {},
): { canvas: RawImage; scale: number; x0: number; y0: number } {
  const { data, width: W, height: H } = image;
  const { scale, w, h, x0, y0 } = place(W, H, inner, side);
  const out = new Uint8Array(side * side * 3).fill(GREY);
  const step = 1 / scale, k = Math.max(1, Math.min(8, Math.floor(step / 2)));
  const at = (x: number, y: number, c: number) =>
    data[
      3 * (Math.min(H - 1, Math.max(0, y)) * W + Math.min(W - 1, Math.max(0, mirror ? W - 1 - x : x))) + c
    ];
  for (let oy = 0; oy < h; oy++) {
    for (let ox = 0; ox < w; ox++) {
      const o = 3 * ((y0 + oy) * side + x0 + ox);
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let sy = 0; sy < k; sy++) {
          for (let sx = 0; sx < k; sx++) {
            const x = (ox + (sx + 0.5) / k) * step - 0.5, y = (oy + (sy + 0.5) / k) * step - 0.5;
            const xf = Math.floor(x), yf = Math.floor(y), fx = x - xf, fy = y - yf;
            sum += (1 - fy) * ((1 - fx) * at(xf, yf, c) + fx * at(xf + 1, yf, c)) +
              fy * ((1 - fx) * at(xf, yf + 1, c) + fx * at(xf + 1, yf + 1, c));
          }
        }
        out[o + c] = Math.round(sum / (k * k));
      }
    }
  }
  return { canvas: { data: out, width: side, height: side, channels: 3 }, scale, x0, y0 };
}

/**
 * `padOntoCanvas(image, side, side)` with the shrink done by libvips off the event loop (`resizeImage`): the
 * frame scaled so its longer side is `side`, centred on grey. Used where the whole frame is shrunk a lot (BlazeFace
 * sees a 1920-px photo at 128 px); pixels differ slightly from `padOntoCanvas` (Lanczos-3, not a box prefilter).
 */
export async function letterbox(
  image: RawImage,
  side: number,
): Promise<{ canvas: RawImage; scale: number; x0: number; y0: number }> {
  const { scale, w, h, x0, y0 } = place(image.width, image.height, side, side);
  const small = await resizeImage(image, w, h);
  const out = new Uint8Array(side * side * 3).fill(GREY);
  for (let y = 0; y < h; y++) {
    out.set(small.data.subarray(3 * y * w, 3 * (y + 1) * w), 3 * ((y0 + y) * side + x0));
  }
  return { canvas: { data: out, width: side, height: side, channels: 3 }, scale, x0, y0 };
}
