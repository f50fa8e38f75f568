/**
 * Opening one face-api net from the model folder, with the error a user can act on when its artifact is missing
 * (the command that builds it, with `--out` when the folder is not the default one).
 */
import { join } from "node:path";
import { CONFIG } from "../config.ts";
import { type ModelSession, openModel, type OpenOptions } from "../session.ts";

/** The default model folder (`MODEL_DIR`'s default), where `deno task models` writes. */
export const DEFAULT_MODEL_DIR = CONFIG.MODEL_DIR.default;

/** Opens `file` (a manifest name) from `modelDir`; a missing file names the command that builds it. */
export async function openFaceModel(
  modelDir: string,
  file: string,
  options: OpenOptions,
): Promise<ModelSession> {
  const path = join(modelDir, file);
  try {
    await Deno.stat(path);
  } catch {
    const out = modelDir.replace(/\/+$/, "") === DEFAULT_MODEL_DIR ? "" : ` --out ${modelDir}`;
    throw new Error(`Cannot open face model: ${path} is missing; build it with \`deno task models${out}\``);
  }
  try {
    return await openModel(path, options);
  } catch (err) {
    throw new Error(`Cannot open face model ${path}: ${(err as Error).message}`);
  }
}
