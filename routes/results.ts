/** Response parts shared by the inference handlers: the answering model's reference and rounded timings. */
import type { ExpressionModel } from "../src/classify.ts";

/** The model that answered, as `ModelRef`. */
export function modelRef(model: ExpressionModel): { id: string; version: string; trained: boolean } {
  return { id: model.id, version: model.version, trained: model.manifest.trained };
}

/** Timings rounded to 0.01 ms for the response. */
export function roundTimings<T extends Record<string, number>>(t: T): T {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 100) / 100])) as T;
}
