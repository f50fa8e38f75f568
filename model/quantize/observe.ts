/**
 * The calibration copy of a model: the same graph with chosen intermediate tensors added as extra graph outputs
 * (no shape given, onnxruntime infers it), so one run reports every activation whose range the quantizer needs.
 * Also the min/max accumulator those runs feed.
 */
import type { Range } from "./params.ts";
import type { OnnxModel } from "./graph.ts";

/** A copy of `model` that also outputs `tensors` (those already graph outputs are not repeated). */
export function withObservedOutputs(model: OnnxModel, tensors: readonly string[]): OnnxModel {
  const graph = model.graph;
  const existing = new Set(graph.output.map((o) => o.name));
  const extra = tensors.filter((t) => !existing.has(t)).map((name) => ({
    name,
    type: { tensor_type: { elem_type: 1 } },
  }));
  return { ...model, graph: { ...graph, output: [...graph.output, ...extra] } };
}

/**
 * Running min/max per tensor over every calibration batch ("minmax" calibration: the full observed range, no
 * percentile clipping; on few samples clipping outliers mostly clips real faces' extremes).
 */
export class RangeObserver {
  readonly ranges = new Map<string, Range>();

  /** Widens each tensor's range by one run's values; NaNs are ignored. */
  observe(outputs: Record<string, { data: Float32Array }>): void {
    for (const [name, { data }] of Object.entries(outputs)) {
      let min = Infinity, max = -Infinity;
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const r = this.ranges.get(name);
      if (!r) this.ranges.set(name, { min, max });
      else {
        r.min = Math.min(r.min, min);
        r.max = Math.max(r.max, max);
      }
    }
  }
}
