/**
 * `deno task detect IMAGE... [--aligned-dir DIR] [--min-confidence X] [--max-faces N] [--min-face-size PX]
 * [--detector ssd|tiny] [--model-dir DIR]`: finds the faces in each image and prints one JSON line per image,
 * `{ image, width, height, faces: [{ box, score, landmarks5, expression: { label, scores } }] }`, using the
 * face-api baseline expression model. With `--aligned-dir`, each face's 224x224 aligned crop is written as
 * `<image stem>_<i>.png`. A bad image prints `{ image, error: { code, message } }` and the run goes on; the exit
 * code is 1 if any image failed, 2 for bad arguments or missing models.
 */
import { parseArgs } from "node:util";
import { basename, extname, join } from "node:path";
import { ApiError } from "./errors.ts";
import { alignedCrop, createFacePipeline, type FacePipeline } from "./faces.ts";
import { decodeImage, encodePng } from "./image.ts";

const USAGE = "usage: deno task detect IMAGE... [--aligned-dir DIR] [--min-confidence X] [--max-faces N] " +
  "[--min-face-size PX] [--detector ssd|tiny] [--model-dir DIR]";

const round = (v: number, digits = 2) => Number(v.toFixed(digits));

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
  pipeline: FacePipeline,
  path: string,
  options: {
    minConfidence: number;
    maxFaces: number;
    minFaceSize: number;
    detector: "ssd" | "tiny";
    alignedDir?: string;
  },
): Promise<Record<string, unknown>> {
  const image = await decodeImage(await Deno.readFile(path));
  const faces = await pipeline.detect(image, options);
  const expressions = await pipeline.classifyBaseline(image, faces);
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
    faces: faces.map((f, i) => ({
      box: { x: round(f.box.x), y: round(f.box.y), width: round(f.box.width), height: round(f.box.height) },
      score: round(f.score, 4),
      landmarks5: f.landmarks5?.map(([x, y]) => [round(x), round(y)]) ?? null,
      expression: {
        label: expressions[i].label,
        scores: Object.fromEntries(Object.entries(expressions[i].scores).map(([k, v]) => [k, round(v, 4)])),
      },
    })),
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
        detector: { type: "string", default: "ssd" },
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
      detector: values.detector as "ssd" | "tiny",
    };
    if (!["ssd", "tiny"].includes(options.detector)) {
      throw new Error(`Cannot parse --detector: "${options.detector}" is not ssd or tiny`);
    }
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options.alignedDir) await Deno.mkdir(options.alignedDir, { recursive: true });
  let pipeline: FacePipeline;
  try {
    pipeline = await createFacePipeline({ modelDir: values["model-dir"] ?? "model" });
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  let failed = 0;
  for (const path of positionals) {
    try {
      console.log(JSON.stringify(await processImage(pipeline, path, options)));
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
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
