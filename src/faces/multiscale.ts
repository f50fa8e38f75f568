/**
 * Close-up-proof detection around face-api's SSD. The SSD's anchors stop at about a third of its 512 px input,
 * so a face that fills most of the frame (selfies, webcam and video-call frames, crops from another pipeline) is
 * missed. When the plain SSD pass finds nothing, the frame is drawn small onto the centre of a mid-grey
 * canvas (the 512 px detector input itself, so no large canvas is ever allocated), its longer side `inner`
 * pixels (once also mirrored), for each pass of a pyramid in turn; the first pass that finds a face answers, its boxes mapped back to
 * image pixels. The SSD's score for one close-up swings between scales (0.0 at one,
 * 0.9 at the next), so several scales are tried, most productive first (measured with
 * `deno task bench:closeup`). A photo in which the plain pass finds a face gets exactly the plain SSD's answer
 * (same boxes, same cost): group photos and the face-api parity are untouched; a frame with no face at all pays
 * for every pass.
 */
import type { RawImage } from "../image.ts";
import type { ModelSession } from "../session.ts";
import type { DetectorBatchRun, DetectorRun } from "./face.ts";
import { runSsd, runSsdBatch } from "./ssd.ts";

/**
 * The close-up pyramid, in the order tried: the frame's longer side in detector pixels (of 512) per pass, and
 * whether the frame is mirrored first (the SSD is not mirror-symmetric: a mirrored 72 px pass finds faces no
 * other scale does). Small sides turn a frame-filling face into the 50-100 px faces the SSD finds best; larger
 * ones catch what the upscaled blur of a tiny (48 px) photo hides at small sides. Chosen with
 * `deno task bench:closeup`: each later pass finds faces that all earlier ones miss.
 */
export const PYRAMID: readonly { side: number; mirror: boolean }[] = [
  { side: 96, mirror: false },
  { side: 72, mirror: false },
  { side: 128, mirror: false },
  { side: 192, mirror: false },
  { side: 256, mirror: false },
  { side: 72, mirror: true },
  { side: 48, mirror: false },
];

/** Mid grey: what the frame is padded with (black padding reads as a dark frame edge to the SSD). */
const GREY = 128;

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
  const scale = inner / Math.max(W, H);
  const w = Math.max(1, Math.round(W * scale)), h = Math.max(1, Math.round(H * scale));
  const x0 = Math.floor((side - w) / 2), y0 = Math.floor((side - h) / 2);
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

/** One pyramid pass: the SSD on the frame drawn at `side` (mirrored or not) on the grey input; boxes in image pixels. */
async function paddedPass(
  session: ModelSession,
  image: RawImage,
  minConfidence: number,
  { side: inner, mirror }: { side: number; mirror: boolean },
) {
  const side = session.manifest.input.size.width;
  const { canvas, scale, x0, y0 } = padOntoCanvas(image, inner, side, { mirror });
  const found = await runSsd(session, canvas, minConfidence);
  return found.map(({ box, score }) => {
    const x = (box.x - x0) / scale, width = box.width / scale;
    return {
      box: {
        x: mirror ? image.width - x - width : x,
        y: (box.y - y0) / scale,
        width,
        height: box.height / scale,
      },
      score,
    };
  });
}

/** The SSD, then (only when it found nothing) the pyramid until a pass finds a face; best first. */
export const runSsdMultiScale: DetectorRun = async (session, image, minConfidence) =>
  (await runSsdMultiScaleBatch(session, [image], minConfidence))[0];

/**
 * `runSsdMultiScale` on several frames: the plain pass of every frame as one batch, then the pyramid frame by
 * frame for the frames in which it found nothing (each such frame stops at its own first productive pass).
 */
export const runSsdMultiScaleBatch: DetectorBatchRun = async (session, images, minConfidence) => {
  const plain = await runSsdBatch(session, images, minConfidence);
  return await Promise.all(plain.map(async (found, b) => found.length ? found : await pyramid(b)));

  async function pyramid(b: number) {
    for (const pass of PYRAMID) {
      const found = await paddedPass(session, images[b], minConfidence, pass);
      // The SSD's own NMS already ran inside the pass; a frame needs no merge across scales (it stops here).
      if (found.length) return found;
    }
    return [];
  }
};
