/**
 * The small graph-building context SCAN+CCI's files share: a node list with batch-1 shapes (for the FLOP count),
 * initializers in the model's float type, and the checked state-dict weights. Keeps model.ts and local.ts to
 * the architecture itself.
 */
import {
  DataType,
  type DataTypeCode,
  makeNode,
  makeTensor,
  type NodeProto,
  type TensorProto,
} from "../onnx/helper.ts";
import type { TensorData } from "./params.ts";

/** PyTorch BatchNorm2d eps, as in the reference. */
export const BN_EPS = 1e-5;

/** The graph under construction: nodes, initializers, batch-1 shapes, the weights and the float type. */
export interface Ctx {
  nodes: NodeProto[];
  inits: TensorProto[];
  /** Batch-1 shape of every edge, for the FLOP count. */
  shapes: Map<string, number[]>;
  weights: Map<string, TensorData>;
  fdt: DataTypeCode;
}

/** Appends one node with a single output and records its batch-1 shape. */
export function op(
  ctx: Ctx,
  opType: string,
  inputs: string[],
  output: string,
  shape: number[],
  attrs: Parameters<typeof makeNode>[3] = {},
): string {
  ctx.nodes.push(makeNode(opType, inputs, [output], attrs));
  ctx.shapes.set(output, shape);
  return output;
}

/** A float initializer in the graph's float type (float32 or float16). */
export function floatInit(ctx: Ctx, name: string, dims: number[], values: ArrayLike<number>): string {
  ctx.inits.push(makeTensor(name, ctx.fdt, dims, values));
  ctx.shapes.set(name, dims);
  return name;
}

/** An int64 initializer (shapes, axes, gather indices). */
export function int64Init(ctx: Ctx, name: string, values: number[], dims = [values.length]): string {
  ctx.inits.push(makeTensor(name, DataType.INT64, dims, values));
  return name;
}

/** A weight from the state dict as an initializer, optionally with a different (same-size) shape. */
export function param(ctx: Ctx, key: string, dims?: number[]): string {
  const t = ctx.weights.get(key)!;
  return floatInit(ctx, key, dims ?? t.shape, t.data);
}
