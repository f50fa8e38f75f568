import assert from "node:assert/strict";
import { countTrainable, scanCciParamSpecs, type TensorData } from "../../../model/scan_cci/params.ts";
import { randomScanCci } from "../../../model/scan_cci/random.ts";
import { resolveScanCciWeights } from "../../../model/scan_cci/weights.ts";

const base = randomScanCci({ seed: 3, width: 16, style: "test" });

Deno.test("scanCciParamSpecs() lists the reference state_dict names and shapes", () => {
  const specs = new Map(scanCciParamSpecs().map((s) => [s.name, s.shape]));
  assert.deepEqual(specs.get("base.conv1.weight"), [64, 3, 7, 7]);
  assert.deepEqual(specs.get("base.layer1.0.downsample.0.weight"), [256, 64, 1, 1]);
  assert.deepEqual(specs.get("base.layer3.5.bn3.running_var"), [1024]);
  assert.deepEqual(specs.get("attention.local_attention_masks.24.attention.0.weight"), [512, 512, 3, 3]);
  assert.deepEqual(specs.get("attention.global_attention_mask.attention.1.weight"), [512]);
  assert.deepEqual(specs.get("attention.fc.weight"), [7, 1024]);
  assert.deepEqual(specs.get("region.eca.conv.weight"), [1, 1, 5]);
  assert.deepEqual(specs.get("region.region_net.0.weight"), [256, 1024]);
  assert.deepEqual(specs.get("region.region_net.2.weight"), [7, 256]);
  assert.equal(specs.has("base.layer4.0.conv1.weight"), false);
  assert.equal(specs.has("base.layer2.1.downsample.0.weight"), false);
  // ResNet-50 conv1..layer3 has 8,543,296 trainable parameters (torchvision's count); SCAN/fc/CCI add the rest.
  const backbone = countTrainable(scanCciParamSpecs().filter((s) => s.name.startsWith("base.")));
  assert.equal(backbone, 8543296);
});

Deno.test("resolveScanCciWeights() strips module., ignores num_batches_tracked, accepts equal classifiers aliases", () => {
  const raw = new Map<string, TensorData>();
  for (const [k, v] of base) {
    if (k.startsWith("region.region_net.")) {
      // Only the aliases, as a checkpoint may hold them: region.classifiers.<i> is region_net four times.
      for (let i = 0; i < 4; i++) raw.set(k.replace("region_net", `classifiers.${i}`), v);
    } else if (k.startsWith("base.")) raw.set(`module.${k}`, v);
    else if (k.startsWith("attention.")) raw.set(k.replace("attention.", "attention.module."), v);
    else raw.set(k, v);
  }
  raw.set("base.bn1.num_batches_tracked", { shape: [], data: new Float32Array([5]) });
  const got = resolveScanCciWeights(raw);
  assert.equal(got.width, 16);
  assert.equal(got.classes, 7);
  assert.deepEqual([...got.tensors.keys()], [...base.keys()]);
  assert.equal(got.tensors.get("region.region_net.2.bias"), base.get("region.region_net.2.bias"));
});

Deno.test("resolveScanCciWeights() lists every missing, unexpected and mis-shaped tensor in one error", () => {
  const bad = new Map(base);
  bad.delete("base.layer2.3.bn2.running_mean");
  bad.delete("attention.fc.bias");
  bad.set("base.layer4.0.conv1.weight", { shape: [1], data: new Float32Array(1) });
  bad.set("region.eca.conv.weight", { shape: [1, 1, 3], data: new Float32Array(3) });
  assert.throws(() => resolveScanCciWeights(bad), (e: Error) => {
    assert.match(e.message, /^Cannot load SCAN\+CCI weights \(width 16, 7 classes\): 4 problem\(s\)/);
    assert.match(e.message, /missing "base\.layer2\.3\.bn2\.running_mean" \[8\]/);
    assert.match(e.message, /missing "attention\.fc\.bias" \[7\]/);
    assert.match(e.message, /unexpected "base\.layer4\.0\.conv1\.weight"/);
    assert.match(e.message, /"region\.eca\.conv\.weight" has shape \[1,1,3\], expected \[1,1,5\]/);
    return true;
  });
});

Deno.test("resolveScanCciWeights() refuses classifiers aliases that differ from region_net", () => {
  const bad = new Map(base);
  const w = base.get("region.region_net.0.bias")!;
  bad.set("region.classifiers.2.0.bias", { shape: w.shape, data: w.data.map((v) => v + 1) });
  assert.throws(
    () => resolveScanCciWeights(bad),
    /"region\.classifiers\.2\.0\.bias" differs from "region\.region_net\.0\.bias"/,
  );
});

Deno.test("resolveScanCciWeights() checks shapes against an explicit width", () => {
  assert.throws(
    () => resolveScanCciWeights(base, { width: 8 }),
    /width 8.*"base\.conv1\.weight" has shape \[4,3,7,7\], expected \[8,3,7,7\]/s,
  );
});
