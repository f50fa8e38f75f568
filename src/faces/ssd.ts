/**
 * face-api's SSD MobileNetV1 detector run as its ONNX port: the frame padded to a 512 px square, the net's
 * boxes and scores through face-api's NMS, then mapped back to original pixels exactly as face-api's
 * `locateFaces` does.
 */
import type { DetectorRun } from "./face.ts";
import { detectorInput } from "./faceapi_crop.ts";
import { nonMaxSuppression } from "./nms.ts";

/** Detections scoring above `minConfidence`, best first; boxes clipped to the padded square, in image pixels. */
export const runSsd: DetectorRun = async (session, image, minConfidence) => {
  const spec = session.manifest.input;
  const { width: W, height: H } = image;
  const size = spec.size.width;
  const out = await session.run({ [spec.name]: detectorInput(image, spec) });
  const boxes = out.boxes.data, scores = out.scores.data;
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
};
