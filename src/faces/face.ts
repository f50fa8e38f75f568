/**
 * What face detection reports: a face's box, score and landmarks in original image pixels (after EXIF
 * rotation), and the shape of a detector run.
 */
import type { Box } from "../box.ts";
import type { Point } from "./align.ts";
import type { RawImage } from "../image.ts";
import type { ModelSession } from "../session.ts";

/** One detection before landmarks: a box in original pixels and the detector's confidence. */
export interface Detection {
  box: Box;
  score: number;
}

/** Runs a detector net on a frame: detections scoring above `minConfidence`, best first, in original pixels. */
export type DetectorRun = (
  session: ModelSession,
  image: RawImage,
  minConfidence: number,
) => Promise<Detection[]>;

/**
 * Runs a detector net on several frames as one batch (the frames of one video request): per frame, what
 * `DetectorRun` gives for it alone, in input order.
 */
export type DetectorBatchRun = (
  session: ModelSession,
  images: readonly RawImage[],
  minConfidence: number,
) => Promise<Detection[][]>;

/** One detected face, in original image pixels (after EXIF rotation). */
export interface Face {
  /** Detector box, clipped to the image. */
  box: Box;
  /** Detector confidence, 0..1. */
  score: number;
  /** iBUG 68-point layout (0-16 jaw, 36-41 eye on the image left, 48 and 54 mouth corners, ...). */
  landmarks68?: Point[];
  /** Image-left eye centre, image-right eye centre, nose tip, image-left mouth corner, image-right mouth corner. */
  landmarks5?: Point[];
}
