/**
 * Close-up-proof detection around face-api's SSD. The SSD's anchors stop at about a third of its 512 px input,
 * so a face that fills most of the frame (selfies, webcam and video-call frames, crops from another pipeline) is
 * missed. When the plain SSD pass finds nothing, the frame is drawn small onto the centre of a mid-grey
 * canvas (the 512 px detector input itself, so no large canvas is ever allocated), its longer side `inner`
 * pixels (once also mirrored), for each pass of a pyramid in turn; the first pass that finds a face answers, its boxes mapped back to
 * image pixels. The SSD's score for one close-up swings between scales (0.0 at one,
 * 0.9 at the next), so several scales are tried, most productive first (measured with
 * `deno task bench:closeup`). A photo in which the plain pass finds a face gets exactly the plain SSD's answer
 * (same boxes, same cost): group photos and the face-api parity are untouched; a frame with no face at all pays
 * for every pass.
 */
import type { RawImage } from "../image.ts";
import type { ModelSession } from "../session.ts";
import type { DetectorBatchRun, DetectorRun } from "./face.ts";
import { padOntoCanvas } from "./letterbox.ts";
import { runSsd, runSsdBatch } from "./ssd.ts";

/**
 * The close-up pyramid, in the order tried: the frame's longer side in detector pixels (of 512) per pass, and
 * whether the frame is mirrored first (the SSD is not mirror-symmetric: a mirrored 72 px pass finds faces no
 * other scale does). Small sides turn a frame-filling face into the 50-100 px faces the SSD finds best; larger
 * ones catch what the upscaled blur of a tiny (48 px) photo hides at small sides. Chosen with
 * `deno task bench:closeup`: each later pass finds faces that all earlier ones miss.
 */
export const PYRAMID: readonly { side: number; mirror: boolean }[] = [
  { side: 96, mirror: false },
  { side: 72, mirror: false },
  { side: 128, mirror: false },
  { side: 192, mirror: false },
  { side: 256, mirror: false },
  { side: 72, mirror: true },
  { side: 48, mirror: false },
];

/** One pyramid pass: the SSD on the frame drawn at `side` (mirrored or not) on the grey input; boxes in image pixels. */
async function paddedPass(
  session: ModelSession,
  image: RawImage,
  minConfidence: number,
  { side: inner, mirror }: { side: number; mirror: boolean },
) {
  const side = session.manifest.input.size.width;
  const { canvas, scale, x0, y0 } = padOntoCanvas(image, inner, side, { mirror });
  const found = await runSsd(session, canvas, minConfidence);
  return found.map(({ box, score }) => {
    const x = (box.x - x0) / scale, width = box.width / scale;
    return {
      box: {
        x: mirror ? image.width - x - width : x,
        y: (box.y - y0) / scale,
        width,
        height: box.height / scale,
      },
      score,
    };
  });
}

/** The SSD, then (only when it found nothing) the pyramid until a pass finds a face; best first. */
export const runSsdMultiScale: DetectorRun = async (session, image, minConfidence) =>
  (await runSsdMultiScaleBatch(session, [image], minConfidence))[0];

/**
 * `runSsdMultiScale` on several frames: the plain pass of every frame as one batch, then the pyramid frame by
 * frame for the frames in which it found nothing (each such frame stops at its own first productive pass).
 */
export const runSsdMultiScaleBatch: DetectorBatchRun = async (session, images, minConfidence) => {
  const plain = await runSsdBatch(session, images, minConfidence);
  return await Promise.all(plain.map(async (found, b) => found.length ? found : await pyramid(b)));

  async function pyramid(b: number) {
    for (const pass of PYRAMID) {
      const found = await paddedPass(session, images[b], minConfidence, pass);
      // The SSD's own NMS already ran inside the pass; a frame needs no merge across scales (it stops here).
      if (found.length) return found;
    }
    return [];
  }
};
