/**
 * Face alignment, the same function for serving and for training data preparation: a least-squares similarity
 * transform (rotation, uniform scale, translation; Umeyama 1991 without reflection) from five facial points to
 * ONE canonical template, then an exact bilinear inverse-mapping warp with black padding outside the image.
 *
 * Template: the standard ArcFace/InsightFace 112x112 five-point template (the one MTCNN-aligned face datasets and
 * most recognition and expression pipelines use), scaled to `size` with pixel centres kept at integer coordinates:
 * `p_size = (p_112 + 0.5) * size / 112 - 0.5`. Point order, in IMAGE terms (as seen, not the subject's left):
 * image-left eye centre, image-right eye centre, nose tip, image-left mouth corner, image-right mouth corner.
 * The warp follows cv2.warpAffine's convention (integer coordinates are pixel centres; out-of-image neighbours
 * count as black), so a face at the border is padded, never an error.
 */
import type { RawImage } from "../image.ts";

/** A point in image pixels, `[x, y]`. */
export type Point = [number, number];

/** ArcFace 112x112 template (insightface `arcface_dst`), image-left eye first. */
export const ARCFACE_TEMPLATE_112: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** The five template points for a `size`x`size` output. */
export function templateFor(size: number): Point[] {
  const s = size / 112;
  return ARCFACE_TEMPLATE_112.map(([x, y]) => [(x + 0.5) * s - 0.5, (y + 0.5) * s - 0.5]);
}

/** A 2x3 affine matrix `[a, b, tx, c, d, ty]` mapping `(x, y)` to `(a x + b y + tx, c x + d y + ty)`. */
export type Affine = [number, number, number, number, number, number];

/**
 * Least-squares similarity transform mapping `src` points onto `dst` points (at least two, not all equal).
 * Closed form of Umeyama's estimator restricted to proper rotations: with centred points, the optimal
 * `s*R = [[a, -b], [b, a]]` has `a = sum(x.y) / sum|x|^2` and `b = sum(x cross y) / sum|x|^2`.
 */
export function similarityTransform(src: readonly Point[], dst: readonly Point[]): Affine {
  const n = src.length;
  if (n < 2 || dst.length !== n) {
    throw new Error(`Cannot align face: need matching point lists, got ${n}/${dst.length}`);
  }
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) sx += src[i][0], sy += src[i][1], dx += dst[i][0], dy += dst[i][1];
  sx /= n, sy /= n, dx /= n, dy /= n;
  let dot = 0, cross = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    const x1 = src[i][0] - sx, y1 = src[i][1] - sy, x2 = dst[i][0] - dx, y2 = dst[i][1] - dy;
    dot += x1 * x2 + y1 * y2;
    cross += x1 * y2 - y1 * x2;
    norm += x1 * x1 + y1 * y1;
  }
  if (!(norm > 0)) throw new Error("Cannot align face: the landmarks are all at one point");
  const a = dot / norm, b = cross / norm;
  return [a, -b, dx - (a * sx - b * sy), b, a, dy - (b * sx + a * sy)];
}

/** Inverse of an invertible affine matrix. */
export function invertAffine([a, b, tx, c, d, ty]: Affine): Affine {
  const det = a * d - b * c;
  if (det === 0) throw new Error("Cannot invert a singular affine transform");
  const ia = d / det, ib = -b / det, ic = -c / det, id = a / det;
  return [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)];
}

/**
 * Warps `image` by the forward transform `m` (image -> output) into a `width`x`height` RGB image: each output
 * pixel centre is mapped back, sampled bilinearly, neighbours outside the image are black, values rounded.
 */
export function warpAffine(image: RawImage, m: Affine, width: number, height = width): RawImage {
  const [a, b, tx, c, d, ty] = invertAffine(m);
  const out = new Uint8Array(width * height * 3);
  const { data, width: W, height: H } = image;
  const stride = W * 3;
  let o = 0;
  for (let v = 0; v < height; v++) {
    // The source point moves by (a, c) per output pixel: added, not recomputed (fewer multiplies per pixel).
    let x = b * v + tx, y = d * v + ty;
    for (let u = 0; u < width; u++, o += 3, x += a, y += c) {
      const x0 = Math.floor(x), y0 = Math.floor(y);
      if (x0 < -1 || y0 < -1 || x0 >= W || y0 >= H) continue; // all four neighbours outside: stays black
      const fx = x - x0, fy = y - y0;
      const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      const p00 = y0 * stride + x0 * 3;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        // Interior (almost every pixel): four neighbours, no bounds checks; the sums are >= 0, so adding 0.5
        // and truncating rounds like Math.round.
        const p10 = p00 + stride;
        out[o] = (w00 * data[p00] + w01 * data[p00 + 3] + w10 * data[p10] + w11 * data[p10 + 3] + 0.5) | 0;
        out[o + 1] =
          (w00 * data[p00 + 1] + w01 * data[p00 + 4] + w10 * data[p10 + 1] + w11 * data[p10 + 4] + 0.5) | 0;
        out[o + 2] =
          (w00 * data[p00 + 2] + w01 * data[p00 + 5] + w10 * data[p10 + 2] + w11 * data[p10 + 5] + 0.5) | 0;
        continue;
      }
      const in0 = y0 >= 0, in1 = y0 + 1 < H, inL = x0 >= 0, inR = x0 + 1 < W;
      const p01 = p00 + 3, p10 = p00 + stride, p11 = p10 + 3;
      for (let k = 0; k < 3; k++) {
        let s = 0;
        if (in0 && inL) s += w00 * data[p00 + k];
        if (in0 && inR) s += w01 * data[p01 + k];
        if (in1 && inL) s += w10 * data[p10 + k];
        if (in1 && inR) s += w11 * data[p11 + k];
        out[o + k] = Math.round(s);
      }
    }
  }
  return { data: out, width, height, channels: 3 };
}

/**
 * Aligns a face: similarity transform from its five landmarks (image-left eye, image-right eye, nose tip,
 * image-left mouth corner, image-right mouth corner; original pixel coordinates) to the ArcFace template scaled
 * to `size`, then the exact bilinear warp. Returns a `size`x`size` RGB image.
 */
export function alignFace(image: RawImage, landmarks5: readonly Point[], size = 224): RawImage {
  if (landmarks5.length !== 5) {
    throw new Error(`Cannot align face: expected 5 landmarks, got ${landmarks5.length}`);
  }
  return warpAffine(image, similarityTransform(landmarks5, templateFor(size)), size);
}

/**
 * The five alignment points from the 68-point iBUG layout: eye centres are the means of points 36-41 and 42-47
 * (36-41 is the eye on the image left), the nose tip is point 30, the mouth corners are 48 (image left) and 54.
 */
export function landmarks5From68(p: readonly Point[]): Point[] {
  const mean = (from: number, to: number): Point => {
    let x = 0, y = 0;
    for (let i = from; i < to; i++) x += p[i][0], y += p[i][1];
    return [x / (to - from), y / (to - from)];
  };
  return [mean(36, 42), mean(42, 48), [p[30][0], p[30][1]], [p[48][0], p[48][1]], [p[54][0], p[54][1]]];
}
