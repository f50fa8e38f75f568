/**
 * What a model builder produces and how it lands on disk: the ONNX bytes and their manifest, written as a pair
 * through temporary names and renames so a starting server never reads half a file.
 */
import { join } from "node:path";
import type { Manifest } from "./manifest.ts";

/**
 * Where built artifacts go unless `--out` or `MODEL_DIR` says otherwise: a gitignored folder outside the
 * source tree, relative to the working directory.
 */
export const DEFAULT_MODEL_DIR = "artifacts/models";

/** A built model: the ONNX bytes and the validated manifest that describes them. */
export interface Artifact {
  onnx: Uint8Array;
  manifest: Manifest;
}

/** `face-detector-ssd.onnx` -> `face-detector-ssd.manifest.json`. */
export function manifestFileFor(onnxFile: string): string {
  return onnxFile.replace(/\.onnx$/, "") + ".manifest.json";
}

/**
 * Writes `<dir>/<manifest.file>` and its manifest (default `<dir>/<id>.manifest.json`) via temporary files and
 * renames, manifest last, so a reader never sees a half-written pair; on an error no temporary file is left.
 * Returns both paths.
 */
export async function writeArtifact(
  dir: string,
  { onnx, manifest }: Artifact,
  { manifestFile = `${manifest.id}.manifest.json` }: { manifestFile?: string } = {},
): Promise<{ onnxPath: string; manifestPath: string }> {
  await Deno.mkdir(dir, { recursive: true });
  const onnxPath = join(dir, manifest.file);
  const manifestPath = join(dir, manifestFile);
  const tmp = `.tmp-${crypto.randomUUID()}`;
  try {
    await Deno.writeFile(`${onnxPath}${tmp}`, onnx);
    await Deno.writeTextFile(`${manifestPath}${tmp}`, JSON.stringify(manifest, null, 2) + "\n");
    await Deno.rename(`${onnxPath}${tmp}`, onnxPath);
    await Deno.rename(`${manifestPath}${tmp}`, manifestPath);
  } finally {
    for (const p of [`${onnxPath}${tmp}`, `${manifestPath}${tmp}`]) await Deno.remove(p).catch(() => {});
  }
  return { onnxPath, manifestPath };
}
