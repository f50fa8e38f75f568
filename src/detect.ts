/**
 * `deno task detect IMAGE... [--aligned-dir DIR] [--min-confidence X] [--max-faces N] [--min-face-size PX]
 * [--detector NAME] [--model-dir DIR]`: finds the faces in each image and prints one JSON line per image,
 * `{ image, width, height, faces }`, each face exactly as the API's `FaceResult` (`box`, `detectionScore`,
 * `landmarks: { points68, points5 }`, `expression: { label, confidence, scores }`, same rounding), using the
 * face-api baseline expression model served through the registry (the API's post-processing path). With `--aligned-dir`, each face's 224x224 aligned crop is written as
 * `<image stem>_<i>.png`. A bad image prints `{ image, error: { code, message } }` and the run goes on; the exit
 * code is 1 if any image failed, 2 for bad arguments or missing models.
 */
import { parseArgs } from "node:util";
import { basename, extname, join } from "node:path";
import { ApiError } from "./errors.ts";
import { classifyFaces, type ExpressionModel, faceLandmarks } from "./classify.ts";
import { toFaceResult } from "./expression.ts";
import { DEFAULT_DETECTOR, DETECTOR_NAMES, type DetectorName } from "./faces/detectors.ts";
import { createFaceDetector, type FacePipeline } from "./faces/pipeline.ts";
import { DEFAULT_MODEL_DIR } from "./faces/open.ts";
import { alignedCrop, prepareFaceInput } from "./faces/prepare.ts";
import { decodeImage, encodePng } from "./image.ts";
import { loadRegistry, type Registry } from "./registry.ts";

const USAGE = "usage: deno task detect IMAGE... [--aligned-dir DIR] [--min-confidence X] [--max-faces N] " +
  `[--min-face-size PX] [--detector ${DETECTOR_NAMES.join("|")}] [--model-dir DIR]`;

/** The expression model the CLI reports: face-api's baseline net. */
const BASELINE_MODEL = "faceapi-expression";

function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new Error(`Cannot parse --${name}: "${value}" is not a number >= 0`);
  }
  return n;
}

/** Detects, classifies and optionally writes aligned crops for one image; returns its JSON line object. */
async function processImage(
  { pipeline, model }: { pipeline: FacePipeline; model: ExpressionModel },
  path: string,
  options: {
    minConfidence: number;
    maxFaces: number;
    minFaceSize: number;
    detector: DetectorName;
    alignedDir?: string;
  },
): Promise<Record<string, unknown>> {
  const image = await decodeImage(await Deno.readFile(path));
  const faces = await pipeline.detect(image, options);
  const expressions = await classifyFaces(model, { prepare: prepareFaceInput }, image, faces);
  if (options.alignedDir) {
    const stem = basename(path, extname(path));
    for (const [i, face] of faces.entries()) {
      await Deno.writeFile(
        join(options.alignedDir, `${stem}_${i}.png`),
        await encodePng(alignedCrop(image, face)),
      );
    }
  }
  return {
    image: path,
    width: image.width,
    height: image.height,
    faces: faces.map((f, i) =>
      toFaceResult({
        box: f.box,
        detectionScore: f.score,
        landmarks: faceLandmarks(f),
        scores: Array.from(expressions[i]),
      })
    ),
  };
}

/** Runs the CLI on `args`; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        "aligned-dir": { type: "string" },
        "min-confidence": { type: "string" },
        "max-faces": { type: "string" },
        "min-face-size": { type: "string" },
        "model-dir": { type: "string" },
        detector: { type: "string", default: DEFAULT_DETECTOR },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    (values.help ? console.log : console.error)(USAGE);
    return values.help ? 0 : 2;
  }
  let options;
  try {
    options = {
      minConfidence: numberOption(values["min-confidence"], "min-confidence", 0.5),
      maxFaces: Math.floor(numberOption(values["max-faces"], "max-faces", 20)),
      minFaceSize: numberOption(values["min-face-size"], "min-face-size", 0),
      alignedDir: values["aligned-dir"],
      detector: values.detector as DetectorName,
    };
    if (!(DETECTOR_NAMES as string[]).includes(options.detector)) {
      throw new Error(
        `Cannot parse --detector: "${options.detector}" is not ${DETECTOR_NAMES.join(" or ")}`,
      );
    }
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options.alignedDir) await Deno.mkdir(options.alignedDir, { recursive: true });
  let registry: Registry, pipeline: FacePipeline;
  try {
    // The face nets first: a folder without them gets the error naming the command that builds them.
    const modelDir = values["model-dir"] ?? DEFAULT_MODEL_DIR;
    const faces = await createFaceDetector({ modelDir });
    pipeline = faces.pipeline;
    registry = await loadRegistry({
      modelDir,
      defaultModel: BASELINE_MODEL,
      createFaces: () => Promise.resolve(faces),
    });
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const model = registry.resolve(BASELINE_MODEL);
  let failed = 0;
  for (const path of positionals) {
    try {
      console.log(JSON.stringify(await processImage({ pipeline, model }, path, options)));
    } catch (err) {
      failed++;
      const code = err instanceof ApiError
        ? err.code
        : err instanceof Deno.errors.NotFound
        ? "not_found"
        : "error";
      const message = err instanceof Deno.errors.NotFound
        ? `Cannot read image: no such file "${path}"`
        : String(
          (err as Error).message ?? err,
        );
      console.log(JSON.stringify({ image: path, error: { code, message } }));
    }
  }
  await pipeline.release();
  await registry.close();
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
