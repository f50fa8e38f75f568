/**
 * Seeded random weights for SCAN+CCI. `style: "pytorch"` reproduces the reference code's initialisation (what an
 * untrained model built with `--random-seed` is); `style: "test"` draws every parameter, BatchNorm running
 * statistics included, from well-scaled non-trivial ranges, so that a comparison against an independent forward
 * at 1e-4 actually exercises every term (identity BatchNorm would hide a swapped mean/var).
 */
import { type ParamSpec, scanCciParamSpecs, type TensorData } from "./params.ts";

/** A small deterministic PRNG (mulberry32) with uniform and normal draws; the same seed gives the same stream. */
export function createRng(
  seed: number,
): { uniform(lo: number, hi: number): number; normal(std: number): number } {
  let s = seed >>> 0;
  function next(): number {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return {
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    normal(std) {
      // Box-Muller; 1 - next() keeps the log argument in (0, 1].
      const u = 1 - next();
      const v = next();
      return std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
  };
}

type Rng = ReturnType<typeof createRng>;

function pytorchValue(spec: ParamSpec, rng: Rng): () => number {
  const bound = 1 / Math.sqrt(Math.max(spec.fanIn, 1));
  switch (spec.init) {
    case "resnetConv": {
      // ResNet.__init__: normal(0, sqrt(2 / (k * k * out_channels))).
      const [out, , k] = spec.shape;
      const std = Math.sqrt(2 / (k * k * out));
      return () => rng.normal(std);
    }
    case "bnWeight":
    case "bnVar":
      return () => 1;
    case "bnBias":
    case "bnMean":
      return () => 0;
    case "prelu":
      return () => 0.25;
    // Conv2d/Conv1d/Linear defaults: kaiming_uniform(a=sqrt(5)) on weights, U(+-1/sqrt(fan_in)) on biases,
    // both of which come to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    case "scanConv":
    case "eca":
    case "linearWeight":
    case "linearBias":
      return () => rng.uniform(-bound, bound);
  }
}

function testValue(spec: ParamSpec, rng: Rng): () => number {
  const std = Math.sqrt(1 / Math.max(spec.fanIn, 1));
  switch (spec.init) {
    case "resnetConv":
      return () => rng.normal(Math.SQRT2 * std);
    case "scanConv":
      return () => rng.normal(std);
    case "bnWeight":
      // The residual branch's last BN is kept small so activations stay O(1) through 13 blocks.
      return spec.name.endsWith("bn3.weight") ? () => rng.uniform(0.2, 0.5) : () => rng.uniform(0.6, 1.2);
    case "bnBias":
      return () => rng.uniform(-0.2, 0.2);
    case "bnMean":
      return () => rng.uniform(-0.2, 0.2);
    case "bnVar":
      return () => rng.uniform(0.5, 1.5);
    case "prelu":
      return () => rng.uniform(0.05, 0.5);
    case "eca":
      return () => rng.uniform(-0.6, 0.6);
    case "linearWeight":
      // attention.fc sees an L2-normalised vector: a wider range gives logits of order 1.
      return spec.name.startsWith("attention.fc")
        ? () => rng.uniform(-3, 3)
        : () => rng.uniform(-Math.sqrt(3) * std, Math.sqrt(3) * std);
    case "linearBias":
      return () => rng.uniform(-0.3, 0.3);
  }
}

/**
 * Random SCAN+CCI weights for a seed, in `scanCciParamSpecs` order. Deterministic across runs and machines
 * (integer PRNG, parameters drawn in a fixed order).
 */
export function randomScanCci(
  { seed = 0, width = 1, classes = 7, style = "pytorch" }: {
    seed?: number;
    width?: number;
    classes?: number;
    style?: "pytorch" | "test";
  } = {},
): Map<string, TensorData> {
  const rng = createRng(seed);
  const out = new Map<string, TensorData>();
  for (const spec of scanCciParamSpecs({ width, classes })) {
    const draw = style === "pytorch" ? pytorchValue(spec, rng) : testValue(spec, rng);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = draw();
    out.set(spec.name, { shape: [...spec.shape], data });
  }
  return out;
}
