/**
 * Checks a named tensor set (from safetensors, the trainer, or random init) against the SCAN+CCI parameter list
 * and returns it keyed by canonical names. Accepts what real checkpoints contain: DataParallel's `module.`
 * (at the start or after the branch prefix), BatchNorm `num_batches_tracked` counters (ignored) and the region
 * branch's `classifiers.<i>` aliases of `region_net` (the same module four times in the reference). Every
 * missing, unexpected or mis-shaped tensor is reported in one error, so a user fixes a file in one pass.
 */
import { scanCciChannels, scanCciParamSpecs, type TensorData } from "./params.ts";

const PREFIXES = ["base.", "attention.", "region."];

function canonicalName(raw: string): string {
  let name = raw.startsWith("module.") ? raw.slice("module.".length) : raw;
  for (const p of PREFIXES) {
    if (name.startsWith(`${p}module.`)) name = p + name.slice(p.length + "module.".length);
  }
  return name;
}

function sameTensor(a: TensorData, b: TensorData): boolean {
  if (a.shape.join(",") !== b.shape.join(",") || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

function fmt(shape: number[]): string {
  return `[${shape.join(",")}]`;
}

/**
 * Validates `tensors` for SCAN+CCI and returns them under canonical names. `width` and `classes` default to what
 * `base.conv1.weight` and `attention.fc.weight` imply. Throws one `Cannot load SCAN+CCI weights: ...` error that
 * lists every problem found.
 */
export function resolveScanCciWeights(
  tensors: Map<string, TensorData>,
  { width, classes }: { width?: number; classes?: number } = {},
): { tensors: Map<string, TensorData>; width: number; classes: number } {
  const problems: string[] = [];
  const named = new Map<string, TensorData>();
  const classifiers = new Map<string, { raw: string; t: TensorData }[]>();
  for (const [raw, t] of tensors) {
    const name = canonicalName(raw);
    if (name.endsWith(".num_batches_tracked")) continue;
    const alias = /^region\.classifiers\.(\d+)\.(.+)$/.exec(name);
    if (alias) {
      const target = `region.region_net.${alias[2]}`;
      classifiers.set(target, [...(classifiers.get(target) ?? []), { raw, t }]);
      continue;
    }
    const prev = named.get(name);
    if (prev && !sameTensor(prev, t)) problems.push(`"${raw}" duplicates "${name}" with different values`);
    named.set(name, t);
  }
  // region.classifiers.i is region_net itself in the reference, so every alias must equal it exactly.
  for (const [target, copies] of classifiers) {
    const base = named.get(target) ?? copies[0].t;
    for (const { raw, t } of copies) {
      if (!sameTensor(base, t)) {
        problems.push(`"${raw}" differs from "${target}" (they must be the same module)`);
      }
    }
    if (!named.has(target)) named.set(target, base);
  }

  const conv1 = named.get("base.conv1.weight");
  const fc = named.get("attention.fc.weight");
  const w = width ?? (conv1 && conv1.shape[0] > 0 && 64 % conv1.shape[0] === 0 ? 64 / conv1.shape[0] : 1);
  const c = classes ?? (fc && fc.shape.length === 2 ? fc.shape[0] : 7);
  scanCciChannels(w);

  const specs = scanCciParamSpecs({ width: w, classes: c });
  const expected = new Set(specs.map((s) => s.name));
  for (const spec of specs) {
    const t = named.get(spec.name);
    if (!t) {
      problems.push(`missing "${spec.name}" ${fmt(spec.shape)}`);
    } else if (fmt(t.shape) !== fmt(spec.shape)) {
      problems.push(`"${spec.name}" has shape ${fmt(t.shape)}, expected ${fmt(spec.shape)}`);
    } else if (t.data.length !== spec.shape.reduce((a, b) => a * b, 1)) {
      problems.push(`"${spec.name}" has ${t.data.length} values for shape ${fmt(spec.shape)}`);
    }
  }
  for (const name of [...named.keys()].sort()) {
    if (!expected.has(name)) problems.push(`unexpected "${name}"`);
  }
  if (problems.length > 0) {
    throw new Error(
      `Cannot load SCAN+CCI weights (width ${w}, ${c} classes): ${problems.length} problem(s):\n  ` +
        problems.join("\n  "),
    );
  }
  const out = new Map<string, TensorData>();
  for (const spec of specs) out.set(spec.name, named.get(spec.name)!);
  return { tensors: out, width: w, classes: c };
}
