/**
 * BatchNormalization folded into the Conv before it, ahead of quantization: `W' = W * g / sqrt(v + eps)` per
 * output channel and `b' = (b - m) * g / sqrt(v + eps) + beta`. onnxruntime folds BN itself in fp32, but in a QDQ
 * graph the BN sits between the Conv's QuantizeLinear/DequantizeLinear and whatever reads it, so it would run in
 * float32 on dequantized values and block the integer Add of ResNet's residuals; folded, the Conv's quantized
 * output is the normalised value and the scale per channel absorbs gamma.
 */
import { DataType, makeTensor, type NodeProto } from "../onnx/helper.ts";
import { floatValues, type OnnxModel } from "./graph.ts";

/** A copy of `model` with every foldable Conv -> BatchNormalization pair merged; and how many were. */
export function foldBatchNorms(model: OnnxModel): { model: OnnxModel; folded: number } {
  const g = model.graph;
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const producer = new Map<string, NodeProto>();
  const uses = new Map<string, number>();
  for (const n of g.node) {
    for (const o of n.output) producer.set(o, n);
    for (const i of n.input) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  const graphOutputs = new Set(g.output.map((o) => o.name));
  const drop = new Set<NodeProto>();
  const replaced = new Map<NodeProto, NodeProto>();
  const added: ReturnType<typeof makeTensor>[] = [];
  const weightUses = new Map<string, number>();
  for (const n of g.node) {
    if (n.op_type === "Conv") weightUses.set(n.input[1], (weightUses.get(n.input[1]) ?? 0) + 1);
  }
  for (const bn of g.node) {
    if (bn.op_type !== "BatchNormalization" || bn.output.length !== 1) continue;
    const conv = producer.get(bn.input[0]);
    const params = bn.input.slice(1, 5).map((i) => inits.get(i));
    if (!conv || conv.op_type !== "Conv" || uses.get(bn.input[0]) !== 1 || graphOutputs.has(bn.input[0])) {
      continue;
    }
    const w = inits.get(conv.input[1]);
    const b = conv.input[2] ? inits.get(conv.input[2]) : undefined;
    // Shared weights or a bias that is not a constant: leave the pair alone.
    if (!w || w.data_type !== DataType.FLOAT || weightUses.get(w.name) !== 1 || (conv.input[2] && !b)) {
      continue;
    }
    if (params.some((p) => !p || p.data_type !== DataType.FLOAT) || replaced.has(conv)) continue;
    const [gamma, beta, mean, variance] = params.map((p) => floatValues(p!));
    const eps = Number(bn.attribute.find((a) => a.name === "epsilon")?.f ?? 1e-5);
    const c = w.dims[0], per = w.dims.slice(1).reduce((x, y) => x * y, 1);
    if (gamma.length !== c) continue;
    const wv = floatValues(w), bv = b ? floatValues(b) : new Float32Array(c);
    const nw = new Float32Array(wv.length), nb = new Float32Array(c);
    for (let k = 0; k < c; k++) {
      const s = gamma[k] / Math.sqrt(variance[k] + eps);
      for (let j = 0; j < per; j++) nw[k * per + j] = wv[k * per + j] * s;
      nb[k] = (bv[k] - mean[k]) * s + beta[k];
    }
    const wName = `${w.name}.bnfolded`, bName = `${bn.output[0]}.bnfolded_bias`;
    added.push(makeTensor(wName, DataType.FLOAT, w.dims, nw), makeTensor(bName, DataType.FLOAT, [c], nb));
    replaced.set(conv, { ...conv, input: [conv.input[0], wName, bName], output: [bn.output[0]] });
    drop.add(bn);
  }
  if (!drop.size) return { model, folded: 0 };
  const node = g.node.filter((n) => !drop.has(n)).map((n) => replaced.get(n) ?? n);
  const stillUsed = new Set(node.flatMap((n) => n.input));
  const initializer = [...g.initializer.filter((t) => stillUsed.has(t.name)), ...added];
  const input = g.input.filter((i) => stillUsed.has(i.name) || !inits.has(i.name));
  return { model: { ...model, graph: { ...g, node, initializer, input } }, folded: drop.size };
}
