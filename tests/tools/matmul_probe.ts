/**
 * The MatMul probe the model benchmarks compare SCAN+CCI against: one float32 [m, k] x [k, n] MatMul with the
 * weights as a constant, like a model's, so onnxruntime prepacks them the same way.
 */
import {
  DataType,
  encodeModel,
  makeGraph,
  makeModel,
  makeNode,
  makeTensor,
  makeValueInfo,
} from "../../model/onnx/helper.ts";

/** The probe's shape: a [1024, 2048] input times a [2048, 1024] constant. */
export const PROBE_SHAPE = [1024, 2048, 1024] as const;

/** ONNX bytes of the probe with weights `w` (k * n values, row-major [k, n]); input `a`, output `y`. */
export function matmulProbeModel(w: Float32Array, [m, k, n]: readonly number[] = PROBE_SHAPE): Uint8Array {
  const g = makeGraph(
    [makeNode("MatMul", ["a", "w"], ["y"])],
    "matmul",
    [makeValueInfo("a", DataType.FLOAT, [m, k])],
    [makeValueInfo("y", DataType.FLOAT, [m, n])],
    [makeTensor("w", DataType.FLOAT, [k, n], w)],
  );
  return encodeModel(makeModel(g));
}
