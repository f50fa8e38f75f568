/**
 * The engine's public entry for faces and images: what code outside the serving engine (the trainer, the
 * command-line tools) may use. Everything here is re-exported from its own file; importing this module instead
 * of those files keeps the trainer on one stable surface while the engine's inner layout changes.
 */
export { decodeImage, encodeJpeg, encodePng } from "./image.ts";
export type { DecodeOptions, RawImage } from "./image.ts";
export type { Box } from "./box.ts";
export { createFacePipeline, FACE_MODELS } from "./faces/pipeline.ts";
export type { AlignedFace, Face, FacePipeline, FacePipelineOptions } from "./faces/pipeline.ts";
export { alignedCrop, prepareFaceInput } from "./faces/prepare.ts";
export { openModel, readManifest } from "./session.ts";
export type { ExecutionProvider, ModelSession, OpenOptions, TensorData } from "./session.ts";
