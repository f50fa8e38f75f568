/**
 * The QDQ rewrite: int8 weights behind DequantizeLinear (per output channel, with axis), int32 biases at scale
 * s_x * s_w[c] behind DequantizeLinear, and a QuantizeLinear/DequantizeLinear pair (uint8, per tensor) on each
 * planned activation. The graph stays standard ONNX that any runtime can execute; onnxruntime fuses
 * DQ -> Conv/MatMul/Gemm -> Q into its integer kernels (QLinearConv, QLinearMatMul, QGemm).
 */
import { DataType, makeNode, makeTensor, type NodeProto, type TensorProto } from "../onnx/helper.ts";
import { floatValues, type OnnxModel, planQuantization, type QuantizationPlan } from "./graph.ts";
import { type ActivationParams, activationParams, quantizeWeight, type Range } from "./params.ts";

/** What the rewrite did, for the manifest and tests. */
export interface QdqSummary {
  quantizedNodes: number;
  quantizedActivations: number;
  opTypes: Record<string, number>;
}

/**
 * Returns a quantized copy of `model`, given the calibration `ranges` of every tensor in `plan.observed`.
 * Throws naming the first planned tensor that has no range.
 */
export function quantizeQdq(
  model: OnnxModel,
  ranges: ReadonlyMap<string, Range>,
  plan: QuantizationPlan = planQuantization(model),
): { model: OnnxModel; summary: QdqSummary } {
  const g = model.graph;
  const params = new Map<string, ActivationParams>();
  for (const t of plan.activations) {
    const r = ranges.get(plan.reluOf.get(t) ?? t);
    if (!r || !Number.isFinite(r.min) || !Number.isFinite(r.max)) {
      throw new Error(`Cannot quantize model: no finite calibration range for tensor "${t}"`);
    }
    params.set(t, activationParams(r));
  }
  const replaced = new Set<string>();
  const newInits: TensorProto[] = [];
  const weightNodes: NodeProto[] = [];
  const opTypes: Record<string, number> = {};
  for (const { node, weight, axis } of plan.nodes) {
    opTypes[node.op_type] = (opTypes[node.op_type] ?? 0) + 1;
    if (replaced.has(weight.name)) continue;
    replaced.add(weight.name);
    const w = floatValues(weight);
    const q = quantizeWeight(w, weight.dims, axis);
    const c = weight.dims[axis];
    const n = weight.name;
    newInits.push(
      makeTensor(`${n}.int8`, DataType.INT8, weight.dims, q.values),
      makeTensor(`${n}.scale`, DataType.FLOAT, [c], q.scales),
      makeTensor(`${n}.zero_point`, DataType.INT8, [c], new Int8Array(c)),
    );
    weightNodes.push(
      makeNode("DequantizeLinear", [`${n}.int8`, `${n}.scale`, `${n}.zero_point`], [n], { axis }),
    );
    const biasName = node.op_type === "MatMul" ? undefined : node.input[2];
    const bias = biasName ? g.initializer.find((t) => t.name === biasName) : undefined;
    const x = params.get(node.input[0])!;
    if (bias && bias.dims.length === 1 && bias.dims[0] === c && !replaced.has(bias.name)) {
      replaced.add(bias.name);
      const b = floatValues(bias);
      const scales = q.scales.map((s) => s * x.scale);
      const values = b.map((v, i) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(v / scales[i]))));
      newInits.push(
        makeTensor(`${bias.name}.int32`, DataType.INT32, [c], Int32Array.from(values)),
        makeTensor(`${bias.name}.scale`, DataType.FLOAT, [c], scales),
        makeTensor(`${bias.name}.zero_point`, DataType.INT32, [c], new Int32Array(c)),
      );
      weightNodes.push(
        makeNode(
          "DequantizeLinear",
          [`${bias.name}.int32`, `${bias.name}.scale`, `${bias.name}.zero_point`],
          [bias.name],
          { axis: 0 },
        ),
      );
    }
  }
  const qdq = (t: string): NodeProto[] => {
    const p = params.get(t)!;
    newInits.push(
      makeTensor(`${t}.q_scale`, DataType.FLOAT, [], [p.scale]),
      makeTensor(`${t}.q_zero_point`, DataType.UINT8, [], [p.zeroPoint]),
    );
    return [
      makeNode("QuantizeLinear", [t, `${t}.q_scale`, `${t}.q_zero_point`], [`${t}.q`]),
      makeNode("DequantizeLinear", [`${t}.q`, `${t}.q_scale`, `${t}.q_zero_point`], [`${t}.dq`]),
    ];
  };
  const rename = (inputs: string[]) => inputs.map((i) => params.has(i) ? `${i}.dq` : i);
  const produced = new Set(g.node.flatMap((n) => n.output));
  const nodes: NodeProto[] = [...weightNodes];
  for (const t of plan.activations) if (!produced.has(t)) nodes.push(...qdq(t));
  for (const n of g.node) {
    nodes.push({ ...n, input: rename(n.input) });
    for (const o of n.output) if (params.has(o)) nodes.push(...qdq(o));
  }
  const graph = {
    ...g,
    node: nodes,
    initializer: [...g.initializer.filter((t) => !replaced.has(t.name)), ...newInits],
    input: g.input.filter((i) => !replaced.has(i.name)),
  };
  return {
    model: { ...model, graph },
    summary: { quantizedNodes: plan.nodes.length, quantizedActivations: params.size, opTypes },
  };
}
