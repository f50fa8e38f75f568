/**
 * TensorFlow.js (the project's pinned @tensorflow/tfjs, wasm backend, through face-api's node-wasm build as in
 * tests/model/faceapi/reference.ts) as the reference for the tfjs -> ONNX converter: loads a graph model from a
 * model.json path or from an in-memory topology + weights.
 */
import { dirname, join } from "node:path";
import { tf } from "../faceapi/reference.ts";
import type { TfjsModelJson } from "../../../model/tfjs/read.ts";

let ready: Promise<void> | undefined;

/** tfjs on the wasm backend, and graph-model loaders. */
export async function tfjsReference() {
  ready ??= (async () => {
    tf.env().set("PROD", true);
    await tf.setBackend(Deno.env.get("FACEAPI_BACKEND") ?? "wasm");
    await tf.ready();
  })();
  await ready;
  const fromMemory = (json: TfjsModelJson, data: Uint8Array) =>
    tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: data.slice().buffer,
        format: "graph-model",
      }),
    );
  return {
    tf,
    /** A tfjs GraphModel from model.json content and its shard bytes. */
    fromMemory,
    /** A tfjs GraphModel read from a model.json on disk. */
    async loadGraph(path: string) {
      const json = JSON.parse(await Deno.readTextFile(path)) as TfjsModelJson;
      const parts = await Promise.all(
        json.weightsManifest.flatMap((g) => g.paths).map((p) => Deno.readFile(join(dirname(path), p))),
      );
      const data = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
      let at = 0;
      for (const p of parts) data.set(p, at), at += p.length;
      return await fromMemory(json, data);
    },
  };
}
