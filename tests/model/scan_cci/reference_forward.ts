/**
 * An independent, naive float64 forward of SCAN+CCI for one image, written straight from the reference PyTorch
 * code (models/resnet.py, models/attentionnet.py) with plain loops: no ONNX, no batching tricks, patches cut the
 * way the reference's unfold/permute cuts them and each convolved on its own grid. Used to check the ONNX graph.
 */
import type { TensorData } from "../../../model/scan_cci/params.ts";

/** A CHW float64 feature map. */
interface Map3 {
  c: number;
  h: number;
  w: number;
  d: Float64Array;
}

type Weights = Map<string, TensorData>;

function conv2d(x: Map3, wt: TensorData, stride: number, pad: number): Map3 {
  const [co, ci, k] = wt.shape;
  const oh = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(co * oh * ow);
  const w = wt.data;
  for (let o = 0; o < co; o++) {
    for (let i = 0; i < ci; i++) {
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const wv = w[((o * ci + i) * k + ky) * k + kx];
          for (let y = 0; y < oh; y++) {
            const iy = y * stride + ky - pad;
            if (iy < 0 || iy >= x.h) continue;
            for (let xx = 0; xx < ow; xx++) {
              const ix = xx * stride + kx - pad;
              if (ix < 0 || ix >= x.w) continue;
              out[(o * oh + y) * ow + xx] += wv * x.d[(i * x.h + iy) * x.w + ix];
            }
          }
        }
      }
    }
  }
  return { c: co, h: oh, w: ow, d: out };
}

function batchNorm(x: Map3, W: Weights, p: string): Map3 {
  const [g, b, m, v] = ["weight", "bias", "running_mean", "running_var"].map((s) => W.get(`${p}.${s}`)!.data);
  const hw = x.h * x.w;
  const d = new Float64Array(x.d.length);
  for (let c = 0; c < x.c; c++) {
    for (let i = 0; i < hw; i++) {
      d[c * hw + i] = (x.d[c * hw + i] - m[c]) / Math.sqrt(v[c] + 1e-5) * g[c] + b[c];
    }
  }
  return { ...x, d };
}

function map(x: Map3, f: (v: number, c: number) => number): Map3 {
  const hw = x.h * x.w;
  return { ...x, d: x.d.map((v, i) => f(v, Math.floor(i / hw))) };
}

const relu = (x: Map3) => map(x, (v) => Math.max(v, 0));

function maxPool(x: Map3): Map3 {
  const oh = Math.floor((x.h + 2 - 3) / 2) + 1;
  const d = new Float64Array(x.c * oh * oh);
  for (let c = 0; c < x.c; c++) {
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < oh; xx++) {
        let m = -Infinity;
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            const iy = 2 * y + ky - 1, ix = 2 * xx + kx - 1;
            if (iy >= 0 && iy < x.h && ix >= 0 && ix < x.w) m = Math.max(m, x.d[(c * x.h + iy) * x.w + ix]);
          }
        }
        d[(c * oh + y) * oh + xx] = m;
      }
    }
  }
  return { c: x.c, h: oh, w: oh, d };
}

function bottleneck(x: Map3, W: Weights, p: string, stride: number): Map3 {
  let y = relu(batchNorm(conv2d(x, W.get(`${p}.conv1.weight`)!, 1, 0), W, `${p}.bn1`));
  y = relu(batchNorm(conv2d(y, W.get(`${p}.conv2.weight`)!, stride, 1), W, `${p}.bn2`));
  y = batchNorm(conv2d(y, W.get(`${p}.conv3.weight`)!, 1, 0), W, `${p}.bn3`);
  const r = W.has(`${p}.downsample.0.weight`)
    ? batchNorm(conv2d(x, W.get(`${p}.downsample.0.weight`)!, stride, 0), W, `${p}.downsample.1`)
    : x;
  return relu({ ...y, d: y.d.map((v, i) => v + r.d[i]) });
}

/** SCAN on a map: returns the sigmoid weights (Conv3x3 pad 1 -> PReLU -> BN -> Sigmoid). */
function scan(x: Map3, W: Weights, p: string): Map3 {
  const a = W.get(`${p}.attention.1.weight`)!.data;
  let y = conv2d(x, W.get(`${p}.attention.0.weight`)!, 1, 1);
  y = map(y, (v, c) => (v >= 0 ? v : a[c] * v));
  y = batchNorm(y, W, `${p}.attention.2`);
  return map(y, (v) => 1 / (1 + Math.exp(-v)));
}

function crop(x: Map3, rows: number, cols: number, at: (c: number, r: number, s: number) => number): Map3 {
  const d = new Float64Array(x.c * rows * cols);
  for (let c = 0; c < x.c; c++) {
    for (let r = 0; r < rows; r++) for (let s = 0; s < cols; s++) d[(c * rows + r) * cols + s] = at(c, r, s);
  }
  return { c: x.c, h: rows, w: cols, d };
}

/** The reference's extract_patches_attentivefeatures, index by index (see the comments for each unfold). */
export function referencePatches(f: Map3): Map3[] {
  const v = (c: number, y: number, x: number) => f.d[(c * f.h + y) * f.w + x];
  const out: Map3[] = [];
  // [:, :, :24, :24].unfold(2,6,6).unfold(3,6,6).view(bs,c,-1,6,6): block (i, j) -> index 4i+j.
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) out.push(crop(f, 6, 6, (c, r, s) => v(c, 6 * i + r, 6 * j + s)));
  }
  // [:, :, :24, 24:].unfold(2,6,6) -> [c, i, col, r]; permute(0,2,1,4,3) -> patch i is [c, r, col].
  for (let i = 0; i < 4; i++) out.push(crop(f, 6, 4, (c, r, col) => v(c, 6 * i + r, 24 + col)));
  // [:, :, 24:, :24].unfold(3,6,6) -> [c, a, b, e] = F[24+a, 6b+e]; permute(0,2,1,3,4) -> patch a is [c, b, e].
  for (let a = 0; a < 4; a++) out.push(crop(f, 4, 6, (c, b, e) => v(c, 24 + a, 6 * b + e)));
  out.push(crop(f, 4, 4, (c, r, s) => v(c, 24 + r, 24 + s)));
  return out;
}

function linear(x: Float64Array, W: Weights, p: string): Float64Array {
  const w = W.get(`${p}.weight`)!;
  const b = W.get(`${p}.bias`)!.data;
  const [o, n] = w.shape;
  const out = new Float64Array(o);
  for (let i = 0; i < o; i++) {
    let s = b[i];
    for (let j = 0; j < n; j++) s += w.data[i * n + j] * x[j];
    out[i] = s;
  }
  return out;
}

function gap(x: Map3): Float64Array {
  const hw = x.h * x.w;
  const out = new Float64Array(x.c);
  for (let c = 0; c < x.c; c++) {
    let s = 0;
    for (let i = 0; i < hw; i++) s += x.d[c * hw + i];
    out[c] = s / hw;
  }
  return out;
}

/** Head logits [5][classes] (attention, TL, TR, BL, BR), their mean, and the 28x28 attention map. */
export function referenceForward(
  image: Float32Array,
  W: Weights,
): { headLogits: Float64Array[]; logits: Float64Array; attentionMap: Float64Array } {
  let x: Map3 = { c: 3, h: 224, w: 224, d: Float64Array.from(image) };
  x = maxPool(relu(batchNorm(conv2d(x, W.get("base.conv1.weight")!, 2, 3), W, "base.bn1")));
  const feats: Map3[] = [];
  [3, 4, 6].forEach((blocks, li) => {
    for (let b = 0; b < blocks; b++) {
      x = bottleneck(x, W, `base.layer${li + 1}.${b}`, b === 0 && li > 0 ? 2 : 1);
    }
    feats.push(x);
  });
  const [fu, fl] = [feats[1], feats[2]];

  // Attention branch.
  const locals = referencePatches(fu).map((p, k) => {
    const a = scan(p, W, `attention.local_attention_masks.${k}`);
    return gap({ ...p, d: p.d.map((v, i) => v * a.d[i]) });
  });
  const vl = locals[0].map((_, c) => Math.max(...locals.map((l) => l[c])));
  const ga = scan(fu, W, "attention.global_attention_mask");
  const vg = gap({ ...fu, d: fu.d.map((v, i) => v * ga.d[i]) });
  const cat = Float64Array.from([...vl, ...vg]);
  const norm = Math.max(Math.sqrt(cat.reduce((s, v) => s + v * v, 0)), 1e-12);
  const att = linear(cat.map((v) => v / norm), W, "attention.fc");
  const attentionMap = new Float64Array(28 * 28);
  for (let c = 0; c < ga.c; c++) for (let i = 0; i < 784; i++) attentionMap[i] += ga.d[c * 784 + i] / ga.c;

  // Region branch: ECA, then quadrants TL, TR, BL, BR through the shared MLP.
  const g = gap(fl);
  const k = W.get("region.eca.conv.weight")!.data;
  const scale = g.map((_, c) => {
    let s = 0;
    for (let t = 0; t < 5; t++) if (c + t - 2 >= 0 && c + t - 2 < g.length) s += k[t] * g[c + t - 2];
    return 1 / (1 + Math.exp(-s));
  });
  const eca = map(fl, (v, c) => v * scale[c]);
  const heads = [att];
  for (const [qy, qx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
    const q = crop(eca, 7, 7, (c, r, s) => eca.d[(c * 14 + 7 * qy + r) * 14 + 7 * qx + s]);
    const hidden = linear(gap(q), W, "region.region_net.0").map((v) => Math.max(v, 0));
    heads.push(linear(hidden, W, "region.region_net.2"));
  }
  const logits = heads[0].map((_, i) => heads.reduce((s, h) => s + h[i], 0) / 5);
  return { headLogits: heads, logits, attentionMap };
}
