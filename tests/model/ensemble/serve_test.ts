/**
 * The converted emotion net and the ensembles as the registry serves them: built by `deno task models`'s
 * builders into a folder beside face-api's expression net, the flip ensemble becomes the default (no trained
 * SCAN+CCI there), every one is served by id, and their scores come back as canonical-order probabilities.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildEnsembleModels } from "../../../model/ensemble/models.ts";
import { buildTfjsModels } from "../../../model/tfjs/models.ts";
import { loadRegistry } from "../../../src/registry.ts";
import { faceModelDir } from "../../faces/models.ts";

Deno.test("registry: ensemble-expression-flip is the default and every converted model answers by id", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-ensemble-" });
  try {
    const src = await faceModelDir();
    for (const ext of [".onnx", ".manifest.json"]) {
      await Deno.symlink(join(src, "face-expression" + ext), join(dir, "face-expression" + ext));
    }
    await buildTfjsModels({ out: dir });
    const built = await buildEnsembleModels({ out: dir });
    assert.deepEqual(built.map((r) => r.status), ["built", "built", "built", "built"]);
    const kept = await buildEnsembleModels({ out: dir, ifMissing: true });
    assert.deepEqual(kept.map((r) => r.status), ["kept", "kept", "kept", "kept"]);
    const registry = await loadRegistry({ modelDir: dir });
    try {
      assert.equal(registry.defaultId, "ensemble-expression-flip");
      for (
        const id of [
          "human-emotion",
          "human-emotion-flip",
          "ensemble-expression",
          "ensemble-expression-flip",
          "ensemble-expression-flip-geo",
        ]
      ) {
        const m = registry.resolve(id);
        const { width, height } = m.manifest.input.size;
        const input = new Float32Array(3 * width * height).fill(128);
        const [out] = await Promise.all(m.batcher.submit([input]));
        assert.equal(out.scores.length, 7, id);
        const sum = out.scores.reduce((a, v) => a + v, 0);
        assert.ok(Math.abs(sum - 1) < 1e-4, `${id}: scores sum to ${sum}`);
      }
    } finally {
      await registry.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
