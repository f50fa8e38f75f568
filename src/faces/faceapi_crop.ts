/**
 * face-api's crop bookkeeping, float for float: how it turns a detection box or a landmark set into the integer
 * rectangle its nets see, and how a whole frame becomes a detector's square input. The detectors, the landmark
 * net and the face-api expression crop all go through these, so every ONNX port sees face-api's exact pixels.
 */
import { toTensor } from "../../model/preprocess.ts";
import type { InputSpec } from "../../model/manifest.ts";
import type { Box } from "../box.ts";
import type { RawImage } from "../image.ts";
import type { ModelSession, TensorData } from "../session.ts";
import type { Point } from "./align.ts";
import { type IntBox, padSquareResize } from "./crop.ts";

/**
 * face-api's box bookkeeping: a detection box is kept relative to the image and rescaled (`forSize`) before
 * `extractFaceTensors` clips it at the borders and floors it. Returns null for an empty crop.
 */
export function faceApiCropBox(box: Box, width: number, height: number): IntBox | null {
  const rel = (v: number, s: number) => (v * (1 / s)) * s;
  const x = rel(rel(box.x, width), width), y = rel(rel(box.y, height), height);
  const w = rel(rel(box.width, width), width), h = rel(rel(box.height, height), height);
  const cx = Math.max(x, 0), cy = Math.max(y, 0);
  const cw = Math.min(x + w - cx, width - cx), ch = Math.min(y + h - cy, height - cy);
  const out = { x: Math.floor(cx), y: Math.floor(cy), width: Math.floor(cw), height: Math.floor(ch) };
  return out.width > 0 && out.height > 0 ? out : null;
}

/** face-api's `alignedRect`: the landmarks' bounding box grown by 20% (10% each side), used for expressions. */
export function faceApiAlignedBox(landmarks68: readonly Point[]): Box {
  let minX = Infinity, minY = Infinity, maxX = 0, maxY = 0;
  for (const [x, y] of landmarks68) {
    if (x < minX) minX = x;
    if (y < minY) minY = y;
    if (maxX < x) maxX = x;
    if (maxY < y) maxY = y;
  }
  const w = maxX - minX, h = maxY - minY;
  return { x: minX - w * 0.2 / 2, y: minY - h * 0.2 / 2, width: w + w * 0.2, height: h + h * 0.2 };
}

/** True when `toTensor` would copy NHWC RGB values unchanged (face-api's nets normalise inside the graph). */
export function isIdentity(spec: InputSpec): boolean {
  return spec.layout === "NHWC" && spec.channelOrder === "RGB" && spec.scale === 1 &&
    spec.mean.every((m) => m === 0) && spec.std.every((s) => s === 1);
}

/**
 * A whole frame as a detector input: padded bottom/right to a square and resized to the spec's side, as
 * face-api's `NetInput` does for its detectors. Returns the tensor data and its NHWC dims. With `out`, the
 * pixels are written there from `offset` (one frame of a batch) and `out` is returned.
 */
export function detectorInput(
  image: RawImage,
  spec: InputSpec,
  { out, offset = 0 }: { out?: Float32Array<ArrayBuffer>; offset?: number } = {},
): { data: Float32Array; dims: number[] } {
  const size = spec.size.width;
  const whole = { x: 0, y: 0, width: image.width, height: image.height };
  if (out && isIdentity(spec)) {
    padSquareResize(image, whole, size, { center: false, out, offset });
    return { data: out, dims: [1, size, size, 3] };
  }
  const pixels = padSquareResize(image, whole, size, { center: false });
  const data = isIdentity(spec)
    ? pixels
    : toTensor({ data: pixels, width: size, height: size, channels: 3 }, spec, out, offset);
  return { data, dims: [1, size, size, 3] };
}

/**
 * One detector net run over `images`, each packed with {@link detectorInput} into the port's `[N, size, size, 3]`
 * input: the batch step the SSD and the Tiny Face Detector share before their own decoding.
 */
export async function runDetectorNet(
  session: ModelSession,
  images: readonly RawImage[],
): Promise<Record<string, TensorData>> {
  const spec = session.manifest.input;
  const size = spec.size.width, per = size * size * 3;
  const data = new Float32Array(images.length * per);
  images.forEach((image, b) => detectorInput(image, spec, { out: data, offset: b * per }));
  return await session.run({ [spec.name]: { data, dims: [images.length, size, size, 3] } });
}
