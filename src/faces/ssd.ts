/**
 * face-api's SSD MobileNetV1 detector run as its ONNX port: the frame padded to a 512 px square, the net's
 * boxes and scores through face-api's NMS, then mapped back to original pixels exactly as face-api's
 * `locateFaces` does. Several frames (the frames of one video request) go through the net as one batch: the
 * port's input is `[N, 512, 512, 3]`, and each frame's NMS and mapping read its own slice of the outputs.
 */
import type { RawImage } from "../image.ts";
import type { Detection, DetectorBatchRun, DetectorRun } from "./face.ts";
import { runDetectorNet } from "./faceapi_crop.ts";
import { nonMaxSuppression } from "./nms.ts";

/** Detections scoring above `minConfidence`, best first; boxes clipped to the padded square, in image pixels. */
export const runSsd: DetectorRun = async (session, image, minConfidence) =>
  (await runSsdBatch(session, [image], minConfidence))[0];

/**
 * `runSsd` on every frame of `images` with one net run (one batch): the same detections per frame as one run
 * each (onnxruntime's convolutions treat the frames of a batch independently; a test compares the two).
 */
export const runSsdBatch: DetectorBatchRun = async (session, images, minConfidence) => {
  if (images.length === 0) return [];
  const out = await runDetectorNet(session, images);
  const size = session.manifest.input.size.width;
  const anchors = out.scores.dims[1];
  return images.map((image, b) =>
    decodeSsd(
      out.boxes.data.subarray(b * anchors * 4, (b + 1) * anchors * 4),
      out.scores.data.subarray(b * anchors, (b + 1) * anchors),
      image,
      size,
      minConfidence,
    )
  );
};

/** One frame's boxes and scores through face-api's NMS, mapped back to the frame's pixels. */
function decodeSsd(
  boxes: Float32Array,
  scores: Float32Array,
  { width: W, height: H }: RawImage,
  size: number,
  minConfidence: number,
): Detection[] {
  const kept = nonMaxSuppression(boxes, scores, {
    maxOutput: 100,
    iouThreshold: 0.5,
    scoreThreshold: minConfidence,
  });
  // face-api maps relative boxes of the padded square back through the rounded resized size.
  const scale = size / Math.max(W, H);
  // (max 1: a 20000x5 strip would otherwise divide by zero; face-api itself returns NaN boxes there)
  const padX = size / Math.max(1, Math.round(W * scale)), padY = size / Math.max(1, Math.round(H * scale));
  return kept.map((i) => {
    const top = Math.max(0, boxes[4 * i]) * padY, bottom = Math.min(1, boxes[4 * i + 2]) * padY;
    const left = Math.max(0, boxes[4 * i + 1]) * padX, right = Math.min(1, boxes[4 * i + 3]) * padX;
    return {
      box: { x: left * W, y: top * H, width: (right - left) * W, height: (bottom - top) * H },
      score: scores[i],
    };
  });
}
