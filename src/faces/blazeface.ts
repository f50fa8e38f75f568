/**
 * MediaPipe BlazeFace run as its ONNX conversion (model/tfjs/blazeface.ts): the frame fitted into the net's
 * square input (aspect kept, centred on mid grey, so a face keeps its shape; shrunk by libvips, off the event
 * loop), the 896 anchors decoded as human's `blazeface.ts` does (centre = anchor + offset, size as regressed,
 * both in input pixels; score = sigmoid of the logit), greedy NMS, then boxes mapped back to image pixels.
 * BlazeFace was trained on faces that fill a good part of the frame (phone cameras), which is exactly where
 * face-api's SSD fails.
 */
import type { RawImage } from "../image.ts";
import type { Detection, DetectorBatchRun, DetectorRun } from "./face.ts";
import { letterbox } from "./letterbox.ts";
import { nonMaxSuppression } from "./nms.ts";

/** Values per anchor in the net's output: logit, dx, dy, w, h, six keypoints. */
const VALUES = 17;
/** IoU above which a lower-scoring box of the same face is dropped (MediaPipe's face detection uses 0.3). */
const IOU = 0.3;

const anchorCache = new Map<number, Float32Array>();

/**
 * Anchor centres (x, y) in input pixels for a `side` px net, in the net's output order: a `side/8`-cell grid
 * with 2 anchors a cell, then a `side/16`-cell grid with 6 (human's `generateAnchors`, MediaPipe's SSD anchors
 * with fixed size 1).
 */
export function blazeFaceAnchors(side: number): Float32Array {
  let cached = anchorCache.get(side);
  if (cached) return cached;
  const out: number[] = [];
  for (const [stride, per] of [[side / 16, 2], [side / 8, 6]]) {
    const cells = Math.ceil(side / stride);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let n = 0; n < per; n++) out.push(stride * (x + 0.5), stride * (y + 0.5));
      }
    }
  }
  anchorCache.set(side, cached = new Float32Array(out));
  return cached;
}

/** BlazeFace on one frame: detections scoring above `minConfidence`, best first, boxes in image pixels. */
export const runBlazeFace: DetectorRun = async (session, image, minConfidence) =>
  (await runBlazeFaceBatch(session, [image], minConfidence))[0];

/** `runBlazeFace` on several frames with one net run. */
export const runBlazeFaceBatch: DetectorBatchRun = async (session, images, minConfidence) => {
  if (images.length === 0) return [];
  const spec = session.manifest.input, side = spec.size.width, per = side * side * 3;
  const data = new Float32Array(images.length * per);
  const placed = await Promise.all(images.map(async (image, b) => {
    const { canvas, scale, x0, y0 } = await letterbox(image, side);
    data.set(canvas.data, b * per);
    return { scale, x0, y0 };
  }));
  const out = await session.run({ [spec.name]: { data, dims: [images.length, side, side, 3] } }, [
    session.manifest.outputs[0].name,
  ]);
  const raw = out[session.manifest.outputs[0].name];
  const anchors = raw.dims[1];
  return images.map((image, b) =>
    decodeBlazeFace(
      raw.data.subarray(b * anchors * VALUES, (b + 1) * anchors * VALUES),
      side,
      placed[b],
      image,
      {
        minConfidence,
      },
    )
  );
};

/**
 * One frame's raw output through decoding and NMS, boxes mapped from the letterboxed input back to `image`
 * pixels (`placed`: where and how large the frame was drawn).
 */
export function decodeBlazeFace(
  raw: Float32Array,
  side: number,
  placed: { scale: number; x0: number; y0: number },
  image: Pick<RawImage, "width" | "height">,
  { minConfidence = 0.5 }: { minConfidence?: number } = {},
): Detection[] {
  const anchors = blazeFaceAnchors(side), n = anchors.length / 2;
  if (raw.length !== n * VALUES) {
    throw new Error(`Cannot decode BlazeFace output: ${raw.length} values, expected ${n} x ${VALUES}`);
  }
  const boxes = new Float32Array(4 * n), scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * VALUES;
    // The logit is clipped as MediaPipe does (score_clipping_thresh 100) so exp() cannot overflow.
    scores[i] = 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, raw[o]))));
    const cx = anchors[2 * i] + raw[o + 1], cy = anchors[2 * i + 1] + raw[o + 2];
    const w = raw[o + 3], h = raw[o + 4];
    // (y1, x1, y2, x2), the order nonMaxSuppression reads
    boxes.set([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], 4 * i);
  }
  const kept = nonMaxSuppression(boxes, scores, {
    maxOutput: 100,
    iouThreshold: IOU,
    scoreThreshold: minConfidence,
  });
  const { scale, x0, y0 } = placed;
  return kept.map((i) => {
    const y1 = boxes[4 * i], x1 = boxes[4 * i + 1], y2 = boxes[4 * i + 2], x2 = boxes[4 * i + 3];
    return {
      box: {
        x: (x1 - x0) / scale,
        y: (y1 - y0) / scale,
        width: (x2 - x1) / scale,
        height: (y2 - y1) / scale,
      },
      score: scores[i],
    };
  }).filter(({ box }) =>
    box.x < image.width && box.y < image.height && box.x + box.width > 0 && box.y + box.height > 0
  );
}
