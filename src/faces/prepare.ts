/**
 * The input crop an expression model expects for one face, chosen by its manifest's `resize`: face-api's
 * padded-square crop for the face-api nets, the five-point aligned face for SCAN+CCI. Serving and training
 * call the same functions, so both see the same pixels.
 */
import type { FloatPixels, RawPixels } from "../../model/preprocess.ts";
import type { InputSpec } from "../../model/manifest.ts";
import type { RawImage } from "../image.ts";
import { alignFace, warpAffine } from "./align.ts";
import { padSquareResize } from "./crop.ts";
import type { Face } from "./face.ts";
import { faceApiAlignedBox, faceApiCropBox } from "./faceapi_crop.ts";

/**
 * The exact input crop an expression model expects for one face (`face === null`: the whole image is the face).
 * `spec.resize === "pad-square"` (face-api nets): face-api's crop (landmark box + 20% when landmarks exist, else
 * the detector box), zero-padded to a centred square and resized bilinearly, unrounded float pixels.
 * `"fill"` (SCAN+CCI): the five-point aligned face, or the box (or whole image) stretched when there are no
 * landmarks.
 */
export function prepareFaceInput(
  image: RawImage,
  face: Face | null,
  spec: Pick<InputSpec, "size" | "resize">,
): RawPixels | FloatPixels {
  const { width, height } = spec.size;
  if (spec.resize === "pad-square") {
    if (width !== height) {
      throw new Error(`Cannot prepare face: pad-square needs a square input, got ${width}x${height}`);
    }
    const whole = { x: 0, y: 0, width: image.width, height: image.height };
    const box = face === null ? whole : faceApiCropBox(
      face.landmarks68 ? faceApiAlignedBox(face.landmarks68) : face.box,
      image.width,
      image.height,
    );
    const data = padSquareResize(image, box ?? whole, width, { center: true });
    return { data, width, height, channels: 3 };
  }
  return alignedCrop(image, face, width, height);
}

/**
 * The `fill` crop: the face aligned on its five landmarks (square outputs), else its box (or the whole image for
 * `null`) stretched to `width`x`height` with pixel centres on integers, bilinear, black outside the image.
 */
export function alignedCrop(image: RawImage, face: Face | null, width = 224, height = width): RawImage {
  if (face?.landmarks5 && width === height) return alignFace(image, face.landmarks5, width);
  const b = face?.box ?? { x: 0, y: 0, width: image.width, height: image.height };
  const sx = width / Math.max(b.width, 1e-6), sy = height / Math.max(b.height, 1e-6);
  return warpAffine(image, [sx, 0, (0.5 - b.x) * sx - 0.5, 0, sy, (0.5 - b.y) * sy - 0.5], width, height);
}
