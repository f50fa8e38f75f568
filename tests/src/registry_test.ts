import assert from "node:assert/strict";
import { join } from "node:path";
import { chooseDefault, familyOf, kindOf, loadRegistry, servedOutputs } from "../../src/registry.ts";
import { ApiError } from "../../src/errors.ts";
import type { Manifest } from "../../model/manifest.ts";
import { TINY_SIZE, writeTinyModel } from "../api/fixtures.ts";

function manifest(over: Partial<Manifest> & { outputs?: Manifest["outputs"] }): Manifest {
  return {
    id: "m",
    trained: true,
    architecture: { name: "x", version: "1" },
    outputs: [{ name: "out", shape: ["N", 7], dtype: "float32" }],
    ...over,
  } as Manifest;
}

Deno.test("kindOf() trusts the manifest's kind and falls back to the name rule for older manifests", () => {
  assert.equal(kindOf({ name: "scores", shape: [], dtype: "float32", kind: "logits" }), "logits");
  assert.equal(
    kindOf({ name: "logits", shape: [], dtype: "float32", kind: "probabilities" }),
    "probabilities",
  );
  assert.equal(kindOf({ name: "logits", shape: [], dtype: "float32" }), "logits");
  assert.equal(kindOf({ name: "class_logits", shape: [], dtype: "float32" }), "logits");
  assert.equal(kindOf({ name: "attention_map", shape: [], dtype: "float32" }), "attention");
  assert.equal(kindOf({ name: "probabilities", shape: [], dtype: "float32" }), "probabilities");
});

Deno.test("servedOutputs() picks logits before probabilities, and the attention output", () => {
  const m = manifest({
    outputs: [
      { name: "features", shape: [], dtype: "float32", kind: "other" },
      { name: "scores", shape: [], dtype: "float32", kind: "logits" },
      { name: "heat", shape: [], dtype: "float32", kind: "attention" },
    ],
  });
  const s = servedOutputs(m);
  assert.deepEqual([s.scores.name, s.logits, s.attention?.name], ["scores", true, "heat"]);
  assert.equal(servedOutputs(manifest({})).logits, false, "an unnamed kind is read as probabilities");
});

Deno.test("familyOf() and chooseDefault(): the family field first, a trained SCAN+CCI preferred", () => {
  const scan = manifest({ id: "custom", architecture: { name: "n", family: "scan-cci", version: "1" } });
  assert.equal(familyOf(scan), "scan-cci");
  assert.equal(familyOf(manifest({ id: "scan-cci-old" })), "scan-cci");
  const baseline = manifest({ id: "faceapi-expression" });
  assert.equal(chooseDefault([baseline, scan]), "custom");
  assert.equal(chooseDefault([baseline, { ...scan, trained: false }]), "faceapi-expression");
  const ensemble = manifest({ id: "ensemble-expression-flip" });
  assert.equal(chooseDefault([baseline, ensemble]), "ensemble-expression-flip");
  assert.equal(chooseDefault([baseline, ensemble, scan]), "custom");
  assert.throws(
    () => chooseDefault([baseline], "missing"),
    /DEFAULT_MODEL="missing" is not among the models/,
  );
});

Deno.test("loadRegistry(): softmax for logits, probabilities as they are, unknown ids are 400", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-registry-" });
  try {
    await writeTinyModel(dir, { id: "as-logits" });
    const path = await writeTinyModel(dir, { id: "as-probs" });
    const m = JSON.parse(await Deno.readTextFile(path));
    m.outputs[0].kind = "probabilities";
    await Deno.writeTextFile(join(dir, "as-probs.manifest.json"), JSON.stringify(m));
    const registry = await loadRegistry({ modelDir: dir, maxDelayMs: 0 });
    try {
      assert.equal(registry.faces, undefined);
      const input = new Float32Array(3 * TINY_SIZE * TINY_SIZE).fill(0.5);
      const [logits] = await Promise.all(registry.resolve("as-logits").batcher.submit([input]));
      const [raw] = await Promise.all(registry.resolve("as-probs").batcher.submit([input]));
      assert.ok(Math.abs(logits.scores.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      assert.ok(Math.abs(raw.scores.reduce((a, b) => a + b, 0) - 1) > 1e-2, "not normalised");
      assert.throws(
        () => registry.resolve("nope"),
        (e) => e instanceof ApiError && e.code === "invalid_request",
      );
      assert.equal(registry.resolve().id, registry.defaultId);
    } finally {
      await registry.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
