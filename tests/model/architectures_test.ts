import assert from "node:assert/strict";
import { type ArchitectureFamily, ARCHITECTURES } from "../../model/architectures.ts";
import { randomScanCci } from "../../model/scan_cci/random.ts";

const family: ArchitectureFamily = "scan-cci";
// @ts-expect-error: the family type is the table's keys, not any string.
const unknown: ArchitectureFamily = "resnet";

Deno.test("ARCHITECTURES lists SCAN+CCI, the face-api ports and the converted human-models nets; only SCAN+CCI is trainable", () => {
  assert.deepEqual(Object.keys(ARCHITECTURES), [
    family,
    "faceapi-expression",
    "faceapi-landmarks68",
    "faceapi-ssd-mobilenetv1",
    "faceapi-tiny-face-detector",
    "human-emotion",
    "mediapipe-blazeface",
    "ensemble",
  ]);
  assert.notEqual(unknown, family);
  const trainable = Object.entries(ARCHITECTURES).filter(([, a]) => a.trainable).map(([k]) => k);
  assert.deepEqual(trainable, ["scan-cci"]);
  assert.equal(ARCHITECTURES["scan-cci"].params({ width: 16 }).length > 0, true);
});

Deno.test("every family's builder writes its table key as architecture.family, and each output's kind", async () => {
  for (const [key, arch] of Object.entries(ARCHITECTURES)) {
    const { manifest } = key === "scan-cci"
      ? await ARCHITECTURES["scan-cci"].build({
        tensors: randomScanCci({ seed: 1, width: 16 }),
        labels: "affwild2",
        source: "t",
        trained: false,
      })
      : await ARCHITECTURES[key as Exclude<ArchitectureFamily, "scan-cci">].build();
    assert.equal(manifest.architecture.family, key);
    assert.equal(manifest.architecture.name, arch.name, key);
    assert.equal(manifest.architecture.version, arch.version, key);
    assert.equal(manifest.task, arch.task, key);
    const kinds = manifest.outputs.map((o) => o.kind);
    const expected = key === "scan-cci"
      ? ["logits", "logits", "attention"]
      : ["faceapi-expression", "human-emotion", "ensemble"].includes(key)
      ? ["probabilities"]
      : kinds.map(() => "other");
    assert.deepEqual(kinds, expected, key);
  }
});
