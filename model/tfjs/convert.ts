/**
 * tfjs graph model -> ONNX graph pieces: walks the nodes in order, turns each through the op table
 * (model/tfjs/ops.ts), and returns nodes, initializers and the edges of the requested outputs, ready for
 * `makeGraph` (or for merging into a larger graph: every name carries `prefix`). The graph input stays in
 * TensorFlow's NHWC layout; outputs come back in TensorFlow layout too.
 */
import type { NodeProto, TensorProto } from "../onnx/helper.ts";
import { type Context, createContext, edgeName, inputName, plain } from "./context.ts";
import { TFJS_OPS } from "./ops.ts";
import type { TfjsGraph } from "./read.ts";

/** How to convert one graph. */
export interface ConvertOptions {
  /** ONNX name of the (single) Placeholder input; default its tfjs name with the prefix. */
  input?: string;
  /** The input's spatial size and channels (H, W, C) when the Placeholder leaves them open; for MAC counts. */
  inputShape?: number[];
  /** tfjs node names to expose, in order; default every node nobody consumes. */
  outputs?: string[];
  /** Put before every ONNX name (merge several converted graphs into one). */
  prefix?: string;
}

/** The converted graph. */
export interface Converted {
  nodes: NodeProto[];
  initializers: TensorProto[];
  input: string;
  /** ONNX edge of each requested output, in order. */
  outputs: string[];
  parameters: number;
  macs: number;
}

function placeholderShape(node: TfjsGraph["nodes"][number]): number[] | undefined {
  const dims = node.attr?.shape?.shape?.dim?.map((d) => Number(d.size));
  return dims && dims.slice(1).every((d) => d > 0) ? dims.slice(1) : undefined;
}

/** Converts a parsed tfjs graph model; refuses ops outside the table by name. */
export function convertTfjsGraph(graph: TfjsGraph, options: ConvertOptions = {}): Converted {
  const ctx: Context = createContext(graph, options.prefix ?? "");
  const placeholders = graph.nodes.filter((n) => n.op === "Placeholder");
  if (placeholders.length !== 1) {
    throw new Error(`Cannot convert tfjs model: it has ${placeholders.length} inputs, expected one`);
  }
  const input = options.input ?? edgeName(ctx, placeholders[0].name);
  const unsupported = [...new Set(graph.nodes.map((n) => n.op))]
    .filter((op) => op !== "Placeholder" && op !== "Const" && !(op in TFJS_OPS));
  if (unsupported.length) {
    throw new Error(`Cannot convert tfjs model: unsupported ops ${unsupported.join(", ")}`);
  }
  // Consts first (tfjs lists them anywhere), then the ops in file order, which the converter writes topologically.
  for (const node of graph.nodes) {
    if (node.op !== "Const") continue;
    const weight = graph.weights.get(node.name);
    if (!weight) {
      throw new Error(`Cannot convert tfjs model: Const "${node.name}" has no weight in the shards`);
    }
    ctx.values.set(node.name, { edge: edgeName(ctx, node.name), layout: "plain", weight });
  }
  const rank = placeholders[0].attr?.shape?.shape?.dim?.length;
  ctx.values.set(placeholders[0].name, {
    edge: input,
    layout: "plain",
    shape: options.inputShape ?? placeholderShape(placeholders[0]) ?? (rank ? undefined : undefined),
  });
  const pending = graph.nodes.filter((n) => n.op !== "Const" && n.op !== "Placeholder");
  // model.json does not promise topological order: convert a node once all its inputs exist.
  while (pending.length) {
    const i = pending.findIndex((n) =>
      (n.input ?? []).filter((r) => !r.startsWith("^")).every((r) => ctx.values.has(inputName(r)))
    );
    if (i < 0) throw new Error(`Cannot convert tfjs model: node "${pending[0].name}" has an undefined input`);
    const [node] = pending.splice(i, 1);
    ctx.values.set(node.name, TFJS_OPS[node.op](ctx, node));
  }
  const consumed = new Set(
    graph.nodes.flatMap((n) => (n.input ?? []).map((r) => inputName(r.replace(/^\^/, "")))),
  );
  const wanted = options.outputs ??
    graph.nodes.filter((n) => n.op !== "Const" && n.op !== "Placeholder" && !consumed.has(n.name)).map((n) =>
      n.name
    );
  const outputs = wanted.map((name) => {
    const v = ctx.values.get(name);
    if (!v) throw new Error(`Cannot convert tfjs model: no node "${name}" to output`);
    return plain(ctx, v);
  });
  return {
    nodes: ctx.nodes,
    initializers: ctx.initializers,
    input,
    outputs,
    parameters: ctx.parameters,
    macs: ctx.macs,
  };
}
