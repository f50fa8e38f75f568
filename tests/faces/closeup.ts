/**
 * The close-up development sets, generated from face-api's six demo photos (nothing is stored): every face the
 * SSD finds there (22) cropped square and tight around its box with a margin of 0-30% of the box side on each
 * side, so the face fills 60-100% of the frame, as in selfies, webcam frames and crops from another pipeline.
 * Each crop also comes in grayscale, rotated in-plane by +-15 and +-30 degrees, and downscaled to 48/64/96 px.
 * Crops are JPEG-encoded (q 90) like a photo a client would send.
 */
import { decodeImage, encodeJpeg, type RawImage } from "../../src/image.ts";
import type { FacePipeline } from "../../src/faces/pipeline.ts";
import type { Box } from "../../src/box.ts";
import { DEMO_PHOTOS } from "./models.ts";

/** One generated close-up image. */
export interface CloseUp {
  /** The set it belongs to: `colour`, `gray`, `rotated` or `small`. */
  set: string;
  /** e.g. `sample3-f1 m0.2 gray 64px r-15`. */
  name: string;
  jpeg: Uint8Array;
}

/** Margins (share of the face box side added on each side) of the tight crops. */
export const MARGINS = [0, 0.1, 0.2, 0.3];
/** In-plane rotations of the `rotated` set, degrees. */
export const ROTATIONS = [-30, -15, 15, 30];
/** Output sides of the `small` set, pixels. */
export const SMALL_SIDES = [48, 64, 96];

/**
 * A square crop of side `side` (source pixels) centred on `(cx, cy)` and rotated by `degrees`, resampled to
 * `out` x `out` by averaging a grid of bilinear samples per output pixel (so downscaling does not alias). Outside
 * the photo is mid grey. `gray` replaces each pixel by its luma (BT.601).
 */
export function warpCrop(
  image: RawImage,
  { cx, cy, side, degrees = 0, out, gray = false }: {
    cx: number;
    cy: number;
    side: number;
    degrees?: number;
    out: number;
    gray?: boolean;
  },
): RawImage {
  const { data, width: W, height: H } = image;
  const step = side / out, k = Math.max(1, Math.ceil(step));
  const cos = Math.cos((degrees * Math.PI) / 180), sin = Math.sin((degrees * Math.PI) / 180);
  const dst = new Uint8Array(out * out * 3);
  const px = (x: number, y: number, c: number) =>
    x < 0 || y < 0 || x >= W || y >= H ? 128 : data[3 * (y * W + x) + c];
  const rgb = [0, 0, 0];
  for (let oy = 0; oy < out; oy++) {
    for (let ox = 0; ox < out; ox++) {
      rgb[0] = rgb[1] = rgb[2] = 0;
      for (let sy = 0; sy < k; sy++) {
        for (let sx = 0; sx < k; sx++) {
          // Offset from the crop centre in source pixels, then rotated into the photo.
          const u = (ox + (sx + 0.5) / k) * step - side / 2, v = (oy + (sy + 0.5) / k) * step - side / 2;
          const x = cx + cos * u - sin * v - 0.5, y = cy + sin * u + cos * v - 0.5;
          const x0 = Math.floor(x), y0 = Math.floor(y), fx = x - x0, fy = y - y0;
          for (let c = 0; c < 3; c++) {
            rgb[c] += (1 - fy) * ((1 - fx) * px(x0, y0, c) + fx * px(x0 + 1, y0, c)) +
              fy * ((1 - fx) * px(x0, y0 + 1, c) + fx * px(x0 + 1, y0 + 1, c));
          }
        }
      }
      const o = 3 * (oy * out + ox);
      if (gray) {
        const l = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / (k * k);
        dst[o] = dst[o + 1] = dst[o + 2] = Math.round(l);
      } else {
        for (let c = 0; c < 3; c++) dst[o + c] = Math.round(rgb[c] / (k * k));
      }
    }
  }
  return { data: dst, width: out, height: out, channels: 3 };
}

/** The demo faces: each photo with the boxes face-api's SSD finds in it (22 in all). */
export async function demoFaces(
  pipeline: FacePipeline,
): Promise<{ photo: string; image: RawImage; boxes: Box[] }[]> {
  const out = [];
  for (const [i, path] of DEMO_PHOTOS.entries()) {
    const image = await decodeImage(await Deno.readFile(path));
    const faces = await pipeline.detect(image, { detector: "ssd", landmarks: false });
    out.push({ photo: `sample${i + 1}`, image, boxes: faces.map((f) => f.box) });
  }
  return out;
}

/**
 * Every close-up: per face and margin, the colour crop at its native size (`colour`), its grayscale twin
 * (`gray`), the margin-0.2 crop rotated by each of `ROTATIONS` (`rotated`), and each margin's crop downscaled to
 * each of `SMALL_SIDES` (`small`, half of them grayscale).
 */
export async function closeUpSets(pipeline: FacePipeline): Promise<CloseUp[]> {
  const out: CloseUp[] = [];
  const add = async (set: string, name: string, image: RawImage) =>
    out.push({ set, name, jpeg: await encodeJpeg(image, { quality: 90 }) });
  for (const { photo, image, boxes } of await demoFaces(pipeline)) {
    for (const [f, b] of boxes.entries()) {
      const cx = b.x + b.width / 2, cy = b.y + b.height / 2, face = Math.max(b.width, b.height);
      const id = `${photo}-f${f}`;
      for (const m of MARGINS) {
        const side = face * (1 + 2 * m), native = Math.round(side);
        await add("colour", `${id} m${m}`, warpCrop(image, { cx, cy, side, out: native }));
        await add("gray", `${id} m${m} gray`, warpCrop(image, { cx, cy, side, out: native, gray: true }));
        for (const [s, px] of SMALL_SIDES.entries()) {
          const gray = (s + f) % 2 === 1;
          await add(
            "small",
            `${id} m${m} ${px}px${gray ? " gray" : ""}`,
            warpCrop(image, { cx, cy, side, out: px, gray }),
          );
        }
        if (m === 0.2) {
          for (const degrees of ROTATIONS) {
            await add(
              "rotated",
              `${id} m${m} r${degrees}`,
              warpCrop(image, { cx, cy, side, out: native, degrees }),
            );
          }
        }
      }
    }
  }
  return out;
}

/**
 * The first demo face filling the frame: a grayscale square crop 1.2x its box, JPEG-encoded like a client's
 * photo. The plain SSD misses it; the close-up passes find it.
 */
export async function tightGrayCloseUp(pipeline: FacePipeline): Promise<RawImage> {
  const [{ image, boxes }] = await demoFaces(pipeline);
  const b = boxes[0], side = 1.2 * Math.max(b.width, b.height);
  const crop = warpCrop(image, {
    cx: b.x + b.width / 2,
    cy: b.y + b.height / 2,
    side,
    out: Math.round(side),
    gray: true,
  });
  return await decodeImage(await encodeJpeg(crop, { quality: 90 }));
}

/** Frames without a face (solid, seeded noise, a gradient) at 48x48, 200x150 and 640x480, each with its label. */
export function faceFreeFrames(): { label: string; image: RawImage }[] {
  const out: { label: string; image: RawImage }[] = [];
  for (const [w, h] of [[48, 48], [200, 150], [640, 480]]) {
    let s = w * 31 + h;
    const noise = new Uint8Array(w * h * 3).map(() => (s = (s * 1103515245 + 12345) >>> 0) >>> 24);
    const gradient = new Uint8Array(w * h * 3).map((_, i) => Math.floor(((i / 3) % w) * 255 / w));
    for (
      const [kind, data] of [["solid", new Uint8Array(w * h * 3).fill(90)], ["noise", noise], [
        "gradient",
        gradient,
      ]] as const
    ) {
      out.push({ label: `${kind} ${w}x${h}`, image: { data, width: w, height: h, channels: 3 } });
    }
  }
  return out;
}
