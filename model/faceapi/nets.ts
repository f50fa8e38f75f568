/**
 * The ONNX ports of @vladmandic/face-api's pretrained nets (SSD face detector, 68-point landmarks, expression,
 * tiny face detector), built from the weights in the installed npm package into `<name>.onnx` +
 * `<name>.manifest.json`. Nothing is downloaded. With `ifMissing` a net is kept when its manifest is valid, its
 * sha256 matches the ONNX file beside it, and it was made by this builder version from the installed weights with
 * the current description (manifests written before `architecture.family` and `outputs[].kind` existed differ
 * from it, so they are rebuilt); anything else is rebuilt. Same package -> same bytes.
 */
import { join } from "node:path";
import { type Artifact, DEFAULT_MODEL_DIR, manifestFileFor, writeArtifact } from "../artifact.ts";
import { type Manifest, parseManifest, sha256Hex } from "../manifest.ts";
import { faceApiModelDir, type FaceApiWeights, readFaceApiWeights } from "../weights/faceapi.ts";
import { buildExpression, EXPRESSION_DESCRIPTION } from "./expression.ts";
import { buildLandmarks68, LANDMARKS68_DESCRIPTION } from "./landmarks68.ts";
import { type BuiltNet, FACEAPI_TOOL, type NetDescription, packageNet } from "./package.ts";
import { buildSsdMobilenetV1, SSD_DESCRIPTION } from "./ssd_mobilenetv1.ts";
import { buildTinyFaceDetector, tinyDescription } from "./tiny_face_detector.ts";

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

/** Reads one net's weights from the installed package and builds its ONNX bytes and manifest. */
export async function buildFaceApiNet(spec: FaceApiNetSpec): Promise<Artifact> {
  const weights = await readFaceApiWeights(spec.weights);
  return await packageNet(spec.build(weights), spec.description, weights);
}

/**
 * Builds (or, with `ifMissing`, keeps up-to-date) every face-api net into `out` (default
 * {@link DEFAULT_MODEL_DIR}).
 */
export async function buildFaceApiModels(
  { out = DEFAULT_MODEL_DIR, ifMissing = false, nets = FACEAPI_NETS }: {
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
    const artifact = await buildFaceApiNet(spec);
    await writeArtifact(out, artifact, { manifestFile: manifestFileFor(spec.description.file) });
    results.push({
      id: artifact.manifest.id,
      path,
      manifestPath,
      status: "built",
      manifest: artifact.manifest,
    });
  }
  return results;
}
