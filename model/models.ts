/**
 * `deno task models [--out DIR (default: $MODEL_DIR or model)] [--if-missing]`: builds the ONNX ports of @vladmandic/face-api's pretrained
 * nets (SSD face detector, 68-point landmarks, expression, tiny face detector) from the weights in the installed
 * npm package, writing `<name>.onnx` + `<name>.manifest.json` into DIR (default `model/`). Nothing is
 * downloaded. With `--if-missing` (run by `deno task start`) a net is skipped when its manifest exists, is valid,
 * its sha256 matches the ONNX file beside it, and it was made by this builder version from the installed weights
 * with the current description; anything else is rebuilt. Same package -> same bytes.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { type Manifest, parseManifest, sha256Hex } from "./manifest.ts";
import { faceApiModelDir, type FaceApiWeights, readFaceApiWeights } from "./weights/faceapi.ts";
import { type BuiltNet, FACEAPI_TOOL, type NetDescription, packageNet } from "./faceapi/package.ts";
import { buildSsdMobilenetV1, SSD_DESCRIPTION } from "./faceapi/ssd_mobilenetv1.ts";
import { buildLandmarks68, LANDMARKS68_DESCRIPTION } from "./faceapi/landmarks68.ts";
import { buildExpression, EXPRESSION_DESCRIPTION } from "./faceapi/expression.ts";
import { buildTinyFaceDetector, tinyDescription } from "./faceapi/tiny_face_detector.ts";

/** One face-api net: which weight manifest it reads, how it is built, what its manifest says. */
export interface FaceApiNetSpec {
  weights: string;
  build: (weights: FaceApiWeights) => BuiltNet;
  description: NetDescription;
}

/** Every net this command writes, in build order. */
export const FACEAPI_NETS: readonly FaceApiNetSpec[] = [
  { weights: "ssd_mobilenetv1_model", build: buildSsdMobilenetV1, description: SSD_DESCRIPTION },
  { weights: "face_landmark_68_model", build: buildLandmarks68, description: LANDMARKS68_DESCRIPTION },
  { weights: "face_expression_model", build: buildExpression, description: EXPRESSION_DESCRIPTION },
  { weights: "tiny_face_detector_model", build: buildTinyFaceDetector, description: tinyDescription() },
];

/** `face-detector-ssd.onnx` -> `face-detector-ssd.manifest.json`. */
export function manifestFileFor(onnxFile: string): string {
  return onnxFile.replace(/\.onnx$/, "") + ".manifest.json";
}

/** What happened to one net. */
export interface ModelResult {
  id: string;
  path: string;
  manifestPath: string;
  status: "built" | "kept";
  manifest: Manifest;
}

/** JSON with sorted keys, so a manifest read back compares equal to the description it was made from. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  );
}

/**
 * A net is up to date when its manifest is valid, its sha256 matches the ONNX file, it was written by this
 * builder version from the installed weights, and it says what the current description says.
 */
async function upToDate(
  spec: FaceApiNetSpec,
  path: string,
  manifestPath: string,
): Promise<Manifest | undefined> {
  try {
    const manifest = parseManifest(JSON.parse(await Deno.readTextFile(manifestPath)), manifestPath);
    const bytes = await Deno.readFile(path);
    if (bytes.length !== manifest.bytes || await sha256Hex(bytes) !== manifest.sha256) return undefined;
    if (manifest.provenance.tool !== FACEAPI_TOOL) return undefined;
    const bin = await Deno.readFile(join(faceApiModelDir(), `${spec.weights}.bin`));
    if (manifest.provenance.weightsSha256 !== await sha256Hex(bin)) return undefined;
    const described = { ...spec.description, labels: spec.description.labels ?? [] };
    const keys = Object.keys(described) as (keyof typeof described)[];
    const stored = Object.fromEntries(keys.map((k) => [k, manifest[k]]));
    return canonical(stored) === canonical(described) ? manifest : undefined;
  } catch {
    return undefined; // missing or unreadable: rebuild
  }
}

/** Writes via a temporary file and a rename, so a concurrently starting server never reads half a file. */
async function writeAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, path);
}

/** Builds (or, with `ifMissing`, keeps up-to-date) every face-api net into `out`. */
export async function buildFaceApiModels(
  { out = "model", ifMissing = false, nets = FACEAPI_NETS }: {
    out?: string;
    ifMissing?: boolean;
    nets?: readonly FaceApiNetSpec[];
  } = {},
): Promise<ModelResult[]> {
  await Deno.mkdir(out, { recursive: true });
  const results: ModelResult[] = [];
  for (const spec of nets) {
    const path = join(out, spec.description.file);
    const manifestPath = join(out, manifestFileFor(spec.description.file));
    const kept = ifMissing ? await upToDate(spec, path, manifestPath) : undefined;
    if (kept) {
      results.push({ id: kept.id, path, manifestPath, status: "kept", manifest: kept });
      continue;
    }
    const weights = await readFaceApiWeights(spec.weights);
    const { bytes, manifest } = await packageNet(spec.build(weights), spec.description, weights);
    await writeAtomic(path, bytes);
    await writeAtomic(manifestPath, new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n"));
    results.push({ id: manifest.id, path, manifestPath, status: "built", manifest });
  }
  return results;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: Deno.env.get("MODEL_DIR") || "model" },
      "if-missing": { type: "boolean", default: false },
    },
  });
  const t0 = performance.now();
  const results = await buildFaceApiModels({ out: values.out, ifMissing: values["if-missing"] });
  for (const r of results) {
    const m = r.manifest;
    console.log(
      `${r.status === "built" ? "wrote" : "kept "} ${r.path} (${m.id}, ${(m.bytes / 1e6).toFixed(1)} MB, ` +
        `${m.parameters} params, ${m.gflops} GFLOPs/image, sha256 ${
          m.sha256.slice(0, 12)
        }) + ${r.manifestPath}`,
    );
  }
  console.log(`face-api models ready in ${values.out} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
