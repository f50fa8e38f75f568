/**
 * Turns the VGGFace2 ResNet-50 pickle (`resnet50_ft_weight.pkl`, keys `conv1.weight` ... `layer4.*`, `fc.*`) into
 * SCAN+CCI backbone tensors: layer4 and fc are dropped (SCAN+CCI stops at layer3), everything else becomes
 * `base.<key>` and must match the full-width ResNet-50 shapes. Problems are reported together in one error.
 */
import { scanCciParamSpecs, type TensorData } from "../scan_cci/params.ts";
import { readNumpyPickle } from "./pickle.ts";

/** Backbone tensors (`base.*`) from VGGFace2 pickle bytes; throws one error listing every problem. */
export function vggface2Backbone(bytes: Uint8Array): Map<string, TensorData> {
  const arrays = readNumpyPickle(bytes);
  const specs = new Map(
    scanCciParamSpecs().filter((s) => s.name.startsWith("base.")).map((s) => [s.name, s.shape]),
  );
  const out = new Map<string, TensorData>();
  const problems: string[] = [];
  for (const [key, a] of arrays) {
    if (/^(layer4\.|fc\.)/.test(key) || key.endsWith(".num_batches_tracked")) continue;
    const name = `base.${key}`;
    const want = specs.get(name);
    if (!want) problems.push(`unexpected "${key}"`);
    else if (want.join(",") !== a.shape.join(",")) {
      problems.push(`"${key}" has shape [${a.shape}], expected [${want}]`);
    } else out.set(name, { shape: a.shape, data: a.data });
  }
  for (const [name, shape] of specs) {
    if (!arrays.has(name.slice("base.".length))) problems.push(`missing "${name.slice(5)}" [${shape}]`);
  }
  if (problems.length > 0) {
    throw new Error(
      `Cannot load VGGFace2 backbone: ${problems.length} problem(s):\n  ${problems.join("\n  ")}`,
    );
  }
  return out;
}
