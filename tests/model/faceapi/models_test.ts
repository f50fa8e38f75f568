import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { manifestFileFor } from "../../../model/artifact.ts";
import { buildFaceApiModels, FACEAPI_NETS } from "../../../model/faceapi/nets.ts";
import { parseManifest, sha256Hex } from "../../../model/manifest.ts";
import { decodeModel } from "../../../model/onnx/helper.ts";
import { LABEL_ORDERS } from "../../../model/spec.ts";
import { faceApiModelDir } from "../../../model/weights/faceapi.ts";

// One build shared by the tests of this file (about 1.5 s).
const dir = await Deno.makeTempDir({ prefix: "faceapi-models-" });
const first = await buildFaceApiModels({ out: dir });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const CONTRACTS: Record<
  string,
  { file: string; input: (string | number)[]; outputs: Record<string, (string | number)[]> }
> = {
  "ssd-mobilenetv1": {
    file: "face-detector-ssd.onnx",
    input: ["N", 512, 512, 3],
    outputs: { boxes: ["N", 5118, 4], scores: ["N", 5118] },
  },
  landmarks68: {
    file: "face-landmarks68.onnx",
    input: ["N", 112, 112, 3],
    outputs: { landmarks: ["N", 136] },
  },
  "faceapi-expression": {
    file: "face-expression.onnx",
    input: ["N", 112, 112, 3],
    outputs: { probabilities: ["N", 7] },
  },
  "tiny-face-detector": {
    file: "face-detector-tiny.onnx",
    input: ["N", 416, 416, 3],
    outputs: { grid: ["N", 13, 13, 25] },
  },
};

// deno-lint-ignore no-explicit-any
function dims(valueInfo: any): (string | number)[] {
  return valueInfo.type.tensor_type.shape.dim.map((d: { dim_value?: number; dim_param?: string }) =>
    d.dim_param ?? d.dim_value
  );
}

Deno.test("buildFaceApiModels() writes every net with a valid manifest matching the ONNX contract", async () => {
  assert.deepEqual(first.map((r) => r.id).sort(), Object.keys(CONTRACTS).sort());
  for (const r of first) {
    const contract = CONTRACTS[r.id];
    assert.equal(r.status, "built");
    assert.equal(r.path, join(dir, contract.file));
    const bytes = await Deno.readFile(r.path);
    const m = parseManifest(JSON.parse(await Deno.readTextFile(join(dir, manifestFileFor(contract.file)))));
    assert.equal(m.sha256, await sha256Hex(bytes));
    assert.equal(m.bytes, bytes.length);
    assert.equal(m.file, contract.file);
    assert.equal(m.opset, 17);
    assert.equal(m.trained, true);
    assert.match(m.license, /^MIT/);
    assert.ok(
      m.parameters > 100_000 && m.gflops > 0.05,
      `${r.id}: ${m.parameters} params, ${m.gflops} GFLOPs`,
    );
    assert.deepEqual(m.input.shape, contract.input);
    assert.equal(m.input.layout, "NHWC");
    assert.equal(m.input.resize, "pad-square");
    assert.deepEqual(Object.fromEntries(m.outputs.map((o) => [o.name, o.shape])), contract.outputs);
    // provenance points at the exact .bin the graph was made from
    const spec = FACEAPI_NETS.find((n) => n.description.id === r.id)!;
    assert.match(m.provenance.source, /^@vladmandic\/face-api@1\.7\.15 model\//);
    assert.equal(
      m.provenance.weightsSha256,
      await sha256Hex(await Deno.readFile(join(faceApiModelDir(), `${spec.weights}.bin`))),
    );
    // the graph itself agrees with the manifest: opset 17, symbolic batch "N"
    // deno-lint-ignore no-explicit-any
    const model = decodeModel(bytes) as any;
    assert.equal(model.opset_import[0].version, 17);
    assert.deepEqual(model.graph.input.map((i: unknown) => dims(i)), [contract.input]);
    assert.deepEqual(
      Object.fromEntries(model.graph.output.map((o: { name: string }) => [o.name, dims(o)])),
      contract.outputs,
    );
  }
  const expression = first.find((r) => r.id === "faceapi-expression")!.manifest;
  assert.deepEqual(expression.labels, [...LABEL_ORDERS.faceapi]);
  assert.equal(expression.labelOrder, "faceapi");
  // Readers take what an output is from the manifest, never from its name.
  assert.equal(expression.architecture.family, "faceapi-expression");
  assert.deepEqual(expression.outputs.map((o) => o.kind), ["probabilities"]);
  for (const r of first.filter((x) => x.manifest.task !== "expression")) {
    assert.match(r.manifest.architecture.family ?? "", /^faceapi-/, r.id);
    assert.ok(r.manifest.outputs.every((o) => o.kind === "other"), r.id);
  }
});

Deno.test("buildFaceApiModels() is deterministic: a second build gives identical bytes", async () => {
  const other = await Deno.makeTempDir({ prefix: "faceapi-models-" });
  try {
    const second = await buildFaceApiModels({ out: other });
    for (const [i, r] of second.entries()) {
      assert.equal(r.manifest.sha256, first[i].manifest.sha256, r.id);
      assert.equal(
        await Deno.readTextFile(r.manifestPath),
        await Deno.readTextFile(first[i].manifestPath),
      );
    }
  } finally {
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("buildFaceApiModels({ ifMissing }) keeps matching files and rebuilds a corrupted or missing one", async () => {
  const kept = await buildFaceApiModels({ out: dir, ifMissing: true });
  assert.deepEqual(kept.map((r) => r.status), ["kept", "kept", "kept", "kept"]);
  const [ssd, landmarks] = first;
  const good = await Deno.readFile(landmarks.path);
  await Deno.writeFile(landmarks.path, good.subarray(0, good.length - 1));
  await Deno.remove(ssd.manifestPath);
  const again = await buildFaceApiModels({ out: dir, ifMissing: true });
  assert.deepEqual(again.map((r) => r.status), ["built", "built", "kept", "kept"]);
  assert.deepEqual(await Deno.readFile(landmarks.path), good);
  assert.equal(again[0].manifest.sha256, ssd.manifest.sha256);
  // A manifest from an older description or builder (sha256 still matching) is rebuilt too.
  const expression = first[2];
  const stale = JSON.parse(await Deno.readTextFile(expression.manifestPath));
  await Deno.writeTextFile(expression.manifestPath, JSON.stringify({ ...stale, intendedUse: "older text" }));
  const tiny = first[3];
  const old = JSON.parse(await Deno.readTextFile(tiny.manifestPath));
  old.provenance.tool = "scan-fer model/models.ts (model/faceapi ONNX port v0, opset 17)";
  await Deno.writeTextFile(tiny.manifestPath, JSON.stringify(old));
  const third = await buildFaceApiModels({ out: dir, ifMissing: true });
  assert.deepEqual(third.map((r) => r.status), ["kept", "kept", "built", "built"]);
  assert.equal(
    parseManifest(JSON.parse(await Deno.readTextFile(expression.manifestPath))).intendedUse,
    expression.manifest.intendedUse,
  );
  // A manifest written before `architecture.family` and `outputs[].kind` existed is stale as well.
  const landmarksManifest = JSON.parse(await Deno.readTextFile(landmarks.manifestPath));
  delete landmarksManifest.architecture.family;
  for (const o of landmarksManifest.outputs) delete o.kind;
  await Deno.writeTextFile(landmarks.manifestPath, JSON.stringify(landmarksManifest));
  const fourth = await buildFaceApiModels({ out: dir, ifMissing: true });
  assert.deepEqual(fourth.map((r) => r.status), ["kept", "built", "kept", "kept"]);
  assert.equal(fourth[1].manifest.architecture.family, "faceapi-landmarks68");
});

Deno.test("model/models.ts --if-missing prints what it kept", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "-A", "model/models.ts", "--out", dir, "--if-missing"],
    cwd: new URL("../../../", import.meta.url),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /kept +.*face-detector-ssd\.onnx \(ssd-mobilenetv1/);
  assert.match(text, /human-emotion\.onnx \(human-emotion/);
  assert.match(text, /face-api models, .* ready in /);
  assert.match(text, /face-detector-blazeface\.onnx \(blazeface-front/);
});

Deno.test("face-api ONNX nets take any batch size: batch of 2 equals two batches of 1", async () => {
  const r = first.find((x) => x.id === "landmarks68")!;
  const session = await ort.InferenceSession.create(r.path);
  const size = 112 * 112 * 3;
  const data = Float32Array.from({ length: 2 * size }, (_, i) => (i * 31) % 256);
  const both = (await session.run({ image: new ort.Tensor("float32", data, [2, 112, 112, 3]) })).landmarks;
  for (const b of [0, 1]) {
    const one = (await session.run({
      image: new ort.Tensor("float32", data.slice(b * size, (b + 1) * size), [1, 112, 112, 3]),
    }))
      .landmarks.data as Float32Array;
    const part = (both.data as Float32Array).subarray(b * 136, (b + 1) * 136);
    for (let i = 0; i < 136; i++) assert.ok(Math.abs(one[i] - part[i]) < 1e-6);
  }
  await session.release();
});
