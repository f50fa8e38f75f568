import assert from "node:assert/strict";
import { provenanceMetadata, weightsTrained } from "../../../model/weights/provenance.ts";
import { readSafetensorsMetadata, writeSafetensors } from "../../../model/weights/safetensors.ts";

Deno.test("weightsTrained(): option wins, else the file's trained metadata, else trained; odd values refused", () => {
  const tensors = { w: { shape: [1], data: new Float32Array(1) } };
  const untrained = readSafetensorsMetadata(
    writeSafetensors(tensors, provenanceMetadata({ trained: false, source: "random-init seed 1" })),
  );
  assert.deepEqual(untrained, { source: "random-init seed 1", trained: "false" });
  assert.deepEqual(weightsTrained(untrained), {
    trained: false,
    reason: "metadata",
    source: "random-init seed 1",
  });
  assert.equal(weightsTrained({ trained: "true" }).trained, true);
  // No metadata: a converted checkpoint of a training run (e.g. the authors').
  assert.deepEqual(weightsTrained(readSafetensorsMetadata(writeSafetensors(tensors))), {
    trained: true,
    reason: "default",
    source: undefined,
  });
  assert.equal(weightsTrained({}, { override: false }).trained, false);
  assert.equal(weightsTrained(untrained, { override: true }).reason, "option");
  assert.throws(
    () => weightsTrained({ trained: "yes" }, { file: "w.safetensors" }),
    /Cannot read provenance of "w\.safetensors": __metadata__\.trained is "yes", expected "true" or "false"/,
  );
});
