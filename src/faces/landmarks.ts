/**
 * face-api's 68-point landmark net run as its ONNX port on every face of an image in one batch: each detection
 * box cut as face-api cuts it, centred on a square, and the net's relative points mapped back to image pixels
 * as face-api's `postProcess` does. The five alignment points are derived from the 68.
 */
import { toTensor } from "../../model/preprocess.ts";
import type { RawImage } from "../image.ts";
import type { ModelSession } from "../session.ts";
import { landmarks5From68, type Point } from "./align.ts";
import { padSquareResize } from "./crop.ts";
import type { Detection, Face } from "./face.ts";
import { faceApiCropBox, isIdentity } from "./faceapi_crop.ts";

/**
 * Sets `landmarks68` and `landmarks5` on `faces[i]` from the unclipped detection `raw[i]` (same order). Faces
 * whose crop is empty keep no landmarks.
 */
export async function addLandmarks(
  landmarker: ModelSession,
  image: RawImage,
  raw: readonly Detection[],
  faces: Face[],
): Promise<void> {
  const { width: W, height: H } = image;
  const spec = landmarker.manifest.input;
  const side = spec.size.width, per = side * side * 3;
  const crops = raw.map((d) => faceApiCropBox(d.box, W, H));
  const idx = crops.flatMap((c, i) => (c ? [i] : []));
  if (idx.length === 0) return;
  const batch = new Float32Array(idx.length * per);
  const scratch = new Float32Array(per);
  idx.forEach((i, b) => {
    if (isIdentity(spec)) {
      padSquareResize(image, crops[i]!, side, { center: true, out: batch, offset: b * per });
    } else {
      padSquareResize(image, crops[i]!, side, { center: true, out: scratch });
      toTensor({ data: scratch, width: side, height: side, channels: 3 }, spec, batch, b * per);
    }
  });
  const out = await landmarker.run({ [spec.name]: { data: batch, dims: [idx.length, side, side, 3] } });
  const lm = out[landmarker.manifest.outputs[0].name].data;
  idx.forEach((i, b) => {
    const crop = crops[i]!;
    // face-api's postProcess: undo the centred padding, relative to the crop, then shift by the raw box.
    const s = side / Math.max(crop.width, crop.height);
    const sw = crop.width * s, sh = crop.height * s;
    const padLX = sw < sh ? Math.abs(sw - sh) / 2 : 0, padLY = sh < sw ? Math.abs(sw - sh) / 2 : 0;
    const pts: Point[] = [];
    for (let k = 0; k < 68; k++) {
      const rx = (lm[b * 136 + 2 * k] * side - padLX) / sw,
        ry = (lm[b * 136 + 2 * k + 1] * side - padLY) / sh;
      pts.push([rx * crop.width + raw[i].box.x, ry * crop.height + raw[i].box.y]);
    }
    faces[i].landmarks68 = pts;
    faces[i].landmarks5 = landmarks5From68(pts);
  });
}
