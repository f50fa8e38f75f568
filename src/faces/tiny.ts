/**
 * Decoding of face-api's Tiny Face Detector (a Tiny-YOLOv2 with separable convolutions, 416x416, 13x13 cells,
 * five anchors) in plain TypeScript, reproducing `TinyYolov2Base.extractBoxes` and face-api's generic
 * `ops/nonMaxSuppression` (IoU over union, threshold 0.4, no score threshold inside NMS) float for float. The ONNX
 * port outputs the raw grid; this file turns it into boxes in original pixels, as face-api's `locateFaces` does.
 */
import type { Detection, DetectorBatchRun, DetectorRun } from "./face.ts";
import { runDetectorNet } from "./faceapi_crop.ts";

/** The frame and net facts needed to decode the tiny detector grid. */
export interface TinyGridOptions {
  /** Original image size (after EXIF rotation). */
  width: number;
  height: number;
  /** Detector input side (416). */
  inputSize: number;
  /** Anchor sizes in cells, from the manifest (`architecture.details.anchors`). */
  anchors: readonly (readonly [number, number])[];
  /** Keep cells whose sigmoid score is strictly above this (face-api's `scoreThreshold`, default 0.5). */
  scoreThreshold?: number;
  /** face-api's IOU_THRESHOLD for the tiny detector. */
  iouThreshold?: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** IoU of two (left, top, right, bottom) boxes, as face-api's `ops/iou` with `isIOU = true`. */
function iouLtrb(a: readonly number[], b: readonly number[]): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/**
 * Decodes one image's grid (`[13, 13, 5 * anchors]` floats, NHWC) into detections sorted by score, boxes in
 * original pixels (not clipped: face-api does not clip the tiny detector's boxes either).
 */
export function decodeTinyGrid(
  grid: ArrayLike<number>,
  { width, height, inputSize, anchors, scoreThreshold = 0.5, iouThreshold = 0.4 }: TinyGridOptions,
): Detection[] {
  const cells = Math.round(Math.sqrt(grid.length / (5 * anchors.length)));
  const scale = inputSize / Math.max(width, height);
  const rw = Math.max(1, Math.round(width * scale)), rh = Math.max(1, Math.round(height * scale));
  const side = Math.max(rw, rh);
  const cfX = side / rw, cfY = side / rh;
  const found: { ltrb: number[]; score: number }[] = [];
  for (let row = 0; row < cells; row++) {
    for (let col = 0; col < cells; col++) {
      for (let a = 0; a < anchors.length; a++) {
        const o = ((row * cells + col) * anchors.length + a) * 5;
        const score = sigmoid(grid[o + 4]);
        if (scoreThreshold && !(score > scoreThreshold)) continue;
        const cx = ((col + sigmoid(grid[o])) / cells) * cfX;
        const cy = ((row + sigmoid(grid[o + 1])) / cells) * cfY;
        const w = ((Math.exp(grid[o + 2]) * anchors[a][0]) / cells) * cfX;
        const h = ((Math.exp(grid[o + 3]) * anchors[a][1]) / cells) * cfY;
        const x = cx - w / 2, y = cy - h / 2;
        found.push({ ltrb: [x, y, x + w, y + h], score });
      }
    }
  }
  // face-api: sort ascending (stable), pop the best, drop everything overlapping it by more than the threshold.
  const scaled = found.map((f) => f.ltrb.map((v) => v * inputSize));
  let order = found.map((f, i) => ({ s: f.score, i })).sort((p, q) => p.s - q.s).map((p) => p.i);
  const pick: number[] = [];
  while (order.length > 0) {
    const cur = order.pop()!;
    pick.push(cur);
    order = order.filter((j) => iouLtrb(scaled[cur], scaled[j]) <= iouThreshold);
  }
  return pick.map((i) => {
    const [l, t, r, b] = found[i].ltrb;
    // ObjectDetection -> FaceDetection: relative -> absolute -> relative -> absolute, as face-api computes it.
    const abs = (v: number, s: number) => ((v * s) * (1 / s)) * s;
    return {
      box: { x: abs(l, width), y: abs(t, height), width: abs(r - l, width), height: abs(b - t, height) },
      score: found[i].score,
    };
  });
}

/** The Tiny Face Detector as face-api's `TinyFaceDetector.locateFaces` (416 px, score > minConfidence). */
export const runTiny: DetectorRun = async (session, image, minConfidence) =>
  (await runTinyBatch(session, [image], minConfidence))[0];

/** `runTiny` on every frame of `images` with one net run: the port's input is `[N, 416, 416, 3]`. */
export const runTinyBatch: DetectorBatchRun = async (session, images, minConfidence) => {
  if (images.length === 0) return [];
  const out = await runDetectorNet(session, images);
  const size = session.manifest.input.size.width;
  const grid = out[session.manifest.outputs[0].name].data, cellsPer = grid.length / images.length;
  return images.map((image, b) =>
    decodeTinyGrid(grid.subarray(b * cellsPer, (b + 1) * cellsPer), {
      width: image.width,
      height: image.height,
      inputSize: size,
      anchors: session.manifest.architecture.details?.anchors as [number, number][],
      scoreThreshold: minConfidence,
    })
  );
};
