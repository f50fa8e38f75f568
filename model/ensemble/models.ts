/**
 * The ensembles (model/ensemble/build.ts `ENSEMBLES`) that `deno task models` writes beside their members. With
 * `ifMissing` an ensemble is kept when its manifest is valid, matches the ONNX file beside it, was written by this
 * builder version, and lists the same members, flip flag and pooling as its spec, made from the same member
 * builders and weights (`membersFingerprint`); anything else is rebuilt.
 */
import { join } from "node:path";
import { DEFAULT_MODEL_DIR, writeArtifact } from "../artifact.ts";
import type { ModelResult } from "../faceapi/nets.ts";
import { parseManifest, sha256Hex } from "../manifest.ts";
import { buildEnsemble, ENSEMBLE_TOOL, ENSEMBLES, type EnsembleSpec, membersFingerprint } from "./build.ts";

async function upToDate(spec: EnsembleSpec, path: string, manifestPath: string) {
  try {
    const m = parseManifest(JSON.parse(await Deno.readTextFile(manifestPath)), manifestPath);
    const bytes = await Deno.readFile(path);
    const d = m.architecture.details ?? {};
    const same = JSON.stringify(d.members) === JSON.stringify(spec.members) && d.flip === spec.flip &&
      (d.pooling ?? "mean") === (spec.pooling ?? "mean") &&
      m.provenance.weightsSha256 === await membersFingerprint(spec);
    return same && bytes.length === m.bytes && await sha256Hex(bytes) === m.sha256 &&
        m.provenance.tool === ENSEMBLE_TOOL
      ? m
      : undefined;
  } catch {
    return undefined; // missing or unreadable: rebuild
  }
}

/** Builds (or keeps, with `ifMissing`) every ensemble (or the ids in `only`) into `out`. */
export async function buildEnsembleModels(
  { out = DEFAULT_MODEL_DIR, ifMissing = false, only }: {
    out?: string;
    ifMissing?: boolean;
    only?: string[];
  } = {},
): Promise<ModelResult[]> {
  const results: ModelResult[] = [];
  for (const spec of ENSEMBLES.filter((e) => !only || only.includes(e.id))) {
    const path = join(out, `${spec.id}.onnx`), manifestPath = join(out, `${spec.id}.manifest.json`);
    const kept = ifMissing ? await upToDate(spec, path, manifestPath) : undefined;
    if (kept) {
      results.push({ id: kept.id, path, manifestPath, status: "kept", manifest: kept });
      continue;
    }
    const artifact = await buildEnsemble(spec);
    await writeArtifact(out, artifact);
    results.push({ id: spec.id, path, manifestPath, status: "built", manifest: artifact.manifest });
  }
  return results;
}
