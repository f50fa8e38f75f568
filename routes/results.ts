/**
 * What the inference handlers share once they hold the request's images and options: running them through the
 * registry's model within the request deadline, and the response parts (the answering model, rounded timings).
 */
import type { Context } from "hono";
import {
  analyzeImages,
  type AnalyzeOptions,
  type AnalyzeResult,
  type ExpressionModel,
  withDeadline,
} from "../src/classify.ts";
import { ApiError } from "../src/errors.ts";
import { type AppEnv, readyRegistry } from "./context.ts";
import { mediaType } from "./input.ts";

/**
 * The start of an inference request: its deadline (`timeoutMs` from now, the body already read), 503 while the
 * models load (before the body is looked at), and the body's media type.
 */
export function beginInference(c: Context<AppEnv>, timeoutMs: number): { deadline: number; type: string } {
  const deadline = performance.now() + timeoutMs;
  readyRegistry(c.get("deps"));
  return { deadline, type: mediaType(c.req.header("content-type")) };
}

/**
 * Analyses `inputs` with the model `options.model` names (or the default) before `deadline`; `frames` marks
 * video frames (errors name the frame). 503 while models load, 400 for an unknown model id, 504 past the deadline.
 * The work stops when the client leaves (the request's signal, aborted by routes/http_server.ts) or the deadline
 * passes: images not yet decoded or detected are skipped and queued faces leave the batcher.
 */
export async function analyzeRequest(
  c: Context<AppEnv>,
  inputs: readonly Uint8Array[],
  options: AnalyzeOptions & { model?: string },
  { deadline, frames = false }: { deadline: number; frames?: boolean },
): Promise<{ model: ExpressionModel; result: AnalyzeResult }> {
  const { config } = c.get("deps");
  const registry = readyRegistry(c.get("deps"));
  const model = registry.resolve(options.model);
  const expired = new AbortController();
  const timer = setTimeout(
    () =>
      expired.abort(
        new ApiError("deadline_exceeded", "Cannot finish request: no answer within the request deadline"),
      ),
    Math.max(0, deadline - performance.now()),
  );
  const signal = AbortSignal.any([c.req.raw.signal, expired.signal]);
  const result = await countAborted(
    c,
    signal,
    withDeadline(
      analyzeImages(inputs, options, {
        model,
        faces: registry.faces,
        maxPixels: config.maxPixels,
        deadline,
        tag: c.get("requestId"),
        maxBatch: config.maxBatch,
        imageSlots: registry.imageSlots,
        frames,
        signal,
      }),
      deadline,
    ),
  ).finally(() => clearTimeout(timer));
  return { model, result };
}

/**
 * `work`, counting in `fer_requests_aborted_total{route, reason}` an inference request stopped by its signal
 * (`client_closed`: the client left; `deadline_exceeded`): the requests whose remaining frames and queued faces
 * were dropped (see Reliability in the README).
 */
async function countAborted<T>(c: Context<AppEnv>, signal: AbortSignal, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    const reason = signal.reason ?? err;
    if (signal.aborted || (err instanceof ApiError && err.code === "deadline_exceeded")) {
      c.get("deps").metrics.counter(
        "fer_requests_aborted_total",
        "Inference requests stopped before their answer (client gone or deadline), their pending work dropped",
      )({
        route: c.req.routePath,
        reason: reason instanceof ApiError ? reason.code : "aborted",
      });
    }
    throw err;
  }
}

/** The model that answered, as `ModelRef`. */
export function modelRef(model: ExpressionModel): { id: string; version: string; trained: boolean } {
  return { id: model.id, version: model.version, trained: model.manifest.trained };
}

/** Timings rounded to 0.01 ms for the response. */
export function roundTimings<T extends Record<string, number>>(t: T): T {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 100) / 100])) as T;
}
