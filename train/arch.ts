/**
 * SCAN+CCI in TensorFlow.js, the trainable twin of the ONNX graph in model/scan_cci/model.ts: ResNet-50 to layer3
 * (torchvision v1.5, stride on the 3x3), SCAN attention over the 28x28 layer2 map (25 local patches with their
 * own SCAN, max over patches, plus a global SCAN; L2-normalised concat -> fc) and CCI on the 14x14 layer3 map
 * (ECA, four 7x7 quadrants, one shared MLP). Parameter names and the list itself come from
 * model/scan_cci/params.ts, so import/export is exactly the reference state_dict.
 *
 * Internally tensors are NHWC and filters HWIO (tfjs's layouts); linear weights are stored [in, out]. The
 * conversions to/from PyTorch's OIHW / [out, in] are pure index permutations, hence lossless.
 */
import * as tf from "@tensorflow/tfjs";
import {
  LAYER_STRIDES,
  RESNET50_LAYERS,
  scanCciChannels,
  scanCciParamSpecs,
  type TensorData,
} from "../model/scan_cci/params.ts";
import { randomScanCci } from "../model/scan_cci/random.ts";

/** PyTorch BatchNorm2d defaults. */
const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

/** What one forward pass returns (all logits unnormalised). */
export interface ScanCciOutputs {
  /** Mean of the five heads, [N, C]: the prediction the reference evaluates. */
  logits: tf.Tensor2D;
  /** Attention head then the four CCI regions (TL, TR, BL, BR), [N, 5, C]. */
  heads: tf.Tensor3D;
  /** Attention-branch logits [N, C]. */
  attention: tf.Tensor2D;
  /** CCI region logits, 4 x [N, C]. */
  regions: tf.Tensor2D[];
  /** layer3 (Conv_4x) output [N, 14, 14, 1024/width], used by Grad-CAM. */
  layer3: tf.Tensor4D;
  /** Channel mean of the global SCAN mask, [N, 28, 28] (the ONNX graph's `attention_map`). */
  attentionMap: tf.Tensor3D;
}

/** A SCAN+CCI model: named tfjs variables plus the forward function. */
export interface ScanCci {
  width: number;
  classes: number;
  /** Every tensor by reference name, in internal layout. BN running stats are non-trainable variables. */
  variables: Map<string, tf.Variable>;
  /** Names of trainable parameters, in parameter-list order. */
  trainable: string[];
  /** Forward pass on NHWC normalised input [N, 224, 224, 3]. `training` uses batch statistics and updates the
   * BN running statistics (momentum 0.1, unbiased variance, like PyTorch). */
  apply(
    x: tf.Tensor4D,
    options?: { training?: boolean; layer3Hook?: (t: tf.Tensor4D) => tf.Tensor4D },
  ): ScanCciOutputs;
  /** All tensors in the reference layout (OIHW convs, [out, in] linears). */
  exportWeights(): Map<string, TensorData>;
  /** Overwrites variables from reference-layout tensors; `partial` allows a subset (e.g. `base.*` only). */
  importWeights(weights: Map<string, TensorData>, options?: { partial?: boolean }): string[];
  dispose(): void;
}

/** Which optimiser group a parameter is in: the ResNet backbone or the SCAN/CCI heads. */
export function paramGroup(name: string): "backbone" | "heads" {
  return name.startsWith("base.") ? "backbone" : "heads";
}

function toInternal(name: string, t: TensorData): { shape: number[]; data: Float32Array } {
  const s = t.shape;
  if (s.length === 4) {
    const [o, i, h, w] = s;
    const out = new Float32Array(t.data.length);
    for (let a = 0; a < o; a++) {
      for (let b = 0; b < i; b++) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            out[((y * w + x) * i + b) * o + a] = t.data[((a * i + b) * h + y) * w + x];
          }
        }
      }
    }
    return { shape: [h, w, i, o], data: out };
  }
  if (s.length === 3) return { shape: [1, s[2], s[1], s[0]], data: Float32Array.from(t.data) }; // conv1d [1,1,k]
  if (s.length === 2) {
    const [o, i] = s;
    const out = new Float32Array(t.data.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[b * o + a] = t.data[a * i + b];
    return { shape: [i, o], data: out };
  }
  if (s.length !== 1) throw new Error(`Cannot convert "${name}": unexpected rank ${s.length}`);
  return { shape: [...s], data: Float32Array.from(t.data) };
}

function toReference(refShape: number[], internal: Float32Array): Float32Array {
  if (refShape.length === 4) {
    const [o, i, h, w] = refShape;
    const out = new Float32Array(internal.length);
    for (let a = 0; a < o; a++) {
      for (let b = 0; b < i; b++) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            out[((a * i + b) * h + y) * w + x] = internal[((y * w + x) * i + b) * o + a];
          }
        }
      }
    }
    return out;
  }
  if (refShape.length === 2) {
    const [o, i] = refShape;
    const out = new Float32Array(internal.length);
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) out[a * i + b] = internal[b * o + a];
    return out;
  }
  return Float32Array.from(internal);
}

/**
 * Training-mode BatchNorm over N, H, W with a hand-written backward pass. tfjs's generic FusedBatchNorm gradient
 * tiles mean/variance to the full tensor shape (a third of a tiny-model step on wasm); the closed form needs
 * two reductions and a few element-wise passes:
 * dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)).
 */
export function batchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D) {
  const stats: { mean?: tf.Tensor; variance?: tf.Tensor } = {};
  const f = tf.customGrad((xx, g, b, save) => {
    const x4 = xx as tf.Tensor4D;
    const { mean, variance } = tf.moments(x4, [0, 1, 2]);
    const invstd = tf.rsqrt(tf.add(variance, BN_EPS));
    const xhat = tf.mul(tf.sub(x4, mean), invstd);
    stats.mean = tf.keep(tf.clone(mean));
    stats.variance = tf.keep(tf.clone(variance));
    (save as tf.GradSaveFunc)([xhat, invstd, g as tf.Tensor]);
    return {
      value: tf.add(tf.mul(xhat, g as tf.Tensor), b as tf.Tensor),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, inv, gm] = saved;
        const dbeta = tf.sum(dy, [0, 1, 2]);
        const dgamma = tf.sum(tf.mul(dy, xh), [0, 1, 2]);
        const m = dy.size / dy.shape[3]!;
        const dx = tf.mul(
          tf.mul(gm, inv),
          tf.sub(tf.sub(dy, tf.div(dbeta, m)), tf.mul(xh, tf.div(dgamma, m))),
        );
        return [dx, dgamma, dbeta];
      },
    };
  });
  const y = f(x, gamma, beta) as tf.Tensor4D;
  return { y, mean: stats.mean!, variance: stats.variance! };
}

/** tfjs variable names are process-global; each model instance gets its own namespace. */
let instances = 0;

const pad4 = (p: number): [[number, number], [number, number], [number, number], [number, number]] => [
  [0, 0],
  [p, p],
  [p, p],
  [0, 0],
];

/**
 * Creates SCAN+CCI for a width divisor and class count, initialised like the reference (ResNet convs
 * normal(0, sqrt(2/(k*k*out))), BN 1/0, PyTorch defaults elsewhere, PReLU 0.25) from `seed`, then overwritten by
 * `weights` when given (a full set, or `partial` e.g. a backbone).
 */
export function createScanCci(
  { width = 1, classes = 7, seed = 0, weights, partial = false }: {
    width?: number;
    classes?: number;
    seed?: number;
    weights?: Map<string, TensorData>;
    partial?: boolean;
  } = {},
): ScanCci {
  const specs = scanCciParamSpecs({ width, classes });
  const ch = scanCciChannels(width);
  const init = randomScanCci({ seed, width, classes, style: "pytorch" });
  const variables = new Map<string, tf.Variable>();
  const scope = `scan_cci_${instances++}`;
  const refShapes = new Map<string, number[]>();
  for (const spec of specs) {
    const t = toInternal(spec.name, init.get(spec.name)!);
    refShapes.set(spec.name, spec.shape);
    variables.set(
      spec.name,
      tf.variable(tf.tensor(t.data, t.shape), spec.trainable, `${scope}/${spec.name}`),
    );
  }
  const trainable = specs.filter((s) => s.trainable).map((s) => s.name);
  const v = (name: string) => {
    const t = variables.get(name);
    if (!t) throw new Error(`Cannot run SCAN+CCI: parameter "${name}" does not exist`);
    return t;
  };

  function run(x: tf.Tensor4D, training: boolean, hook?: (t: tf.Tensor4D) => tf.Tensor4D): ScanCciOutputs {
    const conv = (t: tf.Tensor4D, name: string, stride = 1, pad = 0) =>
      tf.conv2d(t, v(name) as tf.Tensor4D, stride, pad ? pad4(pad) : "valid");
    const bn = (t: tf.Tensor4D, p: string): tf.Tensor4D => {
      const gamma = v(`${p}.weight`) as tf.Tensor1D, beta = v(`${p}.bias`) as tf.Tensor1D;
      const rm = v(`${p}.running_mean`), rv = v(`${p}.running_var`);
      if (!training) return tf.batchNorm(t, rm as tf.Tensor1D, rv as tf.Tensor1D, beta, gamma, BN_EPS);
      const out = batchNormTrain(t, gamma, beta);
      const n = t.size / t.shape[3];
      tf.tidy(() => {
        rm.assign(tf.add(tf.mul(rm, 1 - BN_MOMENTUM), tf.mul(out.mean, BN_MOMENTUM)));
        rv.assign(
          tf.add(tf.mul(rv, 1 - BN_MOMENTUM), tf.mul(out.variance, (BN_MOMENTUM * n) / Math.max(n - 1, 1))),
        );
      });
      tf.dispose([out.mean, out.variance]);
      return out.y;
    };
    const bottleneck = (t: tf.Tensor4D, p: string, stride: number, down: boolean) => {
      let out = tf.relu(bn(conv(t, `${p}.conv1.weight`), `${p}.bn1`));
      out = tf.relu(bn(conv(out, `${p}.conv2.weight`, stride, 1), `${p}.bn2`));
      out = bn(conv(out, `${p}.conv3.weight`), `${p}.bn3`);
      const res = down ? bn(conv(t, `${p}.downsample.0.weight`, stride), `${p}.downsample.1`) : t;
      return tf.relu(tf.add(out, res)) as tf.Tensor4D;
    };
    const scan = (t: tf.Tensor4D, p: string) => {
      const m = tf.sigmoid(
        bn(
          tf.prelu(
            conv(t, `${p}.attention.0.weight`, 1, 1),
            v(`${p}.attention.1.weight`) as tf.Tensor,
          ) as tf.Tensor4D,
          `${p}.attention.2`,
        ),
      ) as tf.Tensor4D;
      return { out: tf.mul(t, m) as tf.Tensor4D, mask: m };
    };
    const gap = (t: tf.Tensor4D) => tf.mean(t, [1, 2]) as tf.Tensor2D;
    const linear = (t: tf.Tensor2D, p: string) =>
      tf.add(tf.matMul(t, v(`${p}.weight`) as tf.Tensor2D), v(`${p}.bias`));

    // Stem: maxpool padding may be zeros instead of -inf because its input is post-ReLU (>= 0).
    let f = tf.relu(bn(conv(x, "base.conv1.weight", 2, 3), "base.bn1")) as tf.Tensor4D;
    f = tf.maxPool(tf.pad(f, pad4(1)), 3, 2, "valid");
    let layer2: tf.Tensor4D = f;
    let inplanes = ch.stem;
    RESNET50_LAYERS.forEach((blocks, li) => {
      for (let b = 0; b < blocks; b++) {
        const stride = b === 0 ? LAYER_STRIDES[li] : 1;
        const down = b === 0 && (stride !== 1 || inplanes !== ch.planes[li] * 4);
        f = bottleneck(f, `base.layer${li + 1}.${b}`, stride, down);
        inplanes = ch.planes[li] * 4;
      }
      if (li === 1) layer2 = f;
    });
    let layer3 = f;
    if (hook) layer3 = hook(layer3);

    // SCAN: 25 local patches of the 28x28 map (order = local_attention_masks.<k>), then the global mask.
    const n = x.shape[0], c = ch.fu;
    const patches: tf.Tensor4D[] = [];
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) patches.push(tf.slice(layer2, [0, 6 * i, 6 * j, 0], [n, 6, 6, c]));
    }
    for (let i = 0; i < 4; i++) patches.push(tf.slice(layer2, [0, 6 * i, 24, 0], [n, 6, 4, c]));
    for (let k = 0; k < 4; k++) {
      patches.push(tf.reshape(tf.slice(layer2, [0, 24 + k, 0, 0], [n, 1, 24, c]), [n, 4, 6, c]));
    }
    patches.push(tf.slice(layer2, [0, 24, 24, 0], [n, 4, 4, c]));
    const local = patches.map((p, k) => gap(scan(p, `attention.local_attention_masks.${k}`).out));
    const localMax = tf.max(tf.stack(local, 1), 1) as tf.Tensor2D;
    const global = scan(layer2, "attention.global_attention_mask");
    const feat = tf.concat([localMax, gap(global.out)], 1);
    const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(feat), 1, true)), 1e-12);
    const attention = linear(tf.div(feat, norm) as tf.Tensor2D, "attention.fc") as tf.Tensor2D;

    // CCI: ECA (conv1d k5 over channels), four 7x7 quadrants TL TR BL BR, shared MLP.
    const cl = ch.fl;
    const y = tf.reshape(gap(layer3), [n, 1, cl, 1]) as tf.Tensor4D;
    const eca = tf.sigmoid(
      tf.conv2d(y, v("region.eca.conv.weight") as tf.Tensor4D, 1, [[0, 0], [0, 0], [2, 2], [0, 0]]),
    );
    const scaled = tf.mul(layer3, tf.reshape(eca, [n, 1, 1, cl])) as tf.Tensor4D;
    const regions = [[0, 0], [0, 7], [7, 0], [7, 7]].map(([r, q]) => {
      const g = gap(tf.slice(scaled, [0, r, q, 0], [n, 7, 7, cl]));
      return linear(
        tf.relu(linear(g, "region.region_net.0")) as tf.Tensor2D,
        "region.region_net.2",
      ) as tf.Tensor2D;
    });
    const heads = tf.stack([attention, ...regions], 1) as tf.Tensor3D;
    return {
      logits: tf.mean(heads, 1) as tf.Tensor2D,
      heads,
      attention,
      regions,
      layer3,
      attentionMap: tf.mean(global.mask, 3) as tf.Tensor3D,
    };
  }

  function importWeights(weights: Map<string, TensorData>, { partial = false } = {}): string[] {
    const loaded: string[] = [];
    const problems: string[] = [];
    for (const spec of specs) {
      const t = weights.get(spec.name);
      if (!t) {
        if (!partial) problems.push(`missing "${spec.name}"`);
        continue;
      }
      if (t.shape.join(",") !== spec.shape.join(",")) {
        problems.push(`"${spec.name}" has shape [${t.shape}], expected [${spec.shape}]`);
        continue;
      }
      const internal = toInternal(spec.name, t);
      variables.get(spec.name)!.assign(tf.tensor(internal.data, internal.shape));
      loaded.push(spec.name);
    }
    if (problems.length) throw new Error(`Cannot load SCAN+CCI weights: ${problems.join("; ")}`);
    return loaded;
  }

  const model: ScanCci = {
    width,
    classes,
    variables,
    trainable,
    apply: (x, { training = false, layer3Hook } = {}) => run(x, training, layer3Hook),
    exportWeights() {
      const out = new Map<string, TensorData>();
      for (const [name, t] of variables) {
        out.set(name, {
          shape: [...refShapes.get(name)!],
          data: toReference(refShapes.get(name)!, t.dataSync() as Float32Array),
        });
      }
      return out;
    },
    importWeights: (w, o) => tf.tidy(() => importWeights(w, o)),
    dispose() {
      for (const t of variables.values()) t.dispose();
      variables.clear();
    },
  };
  if (weights) model.importWeights(weights, { partial });
  return model;
}
