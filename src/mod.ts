/**
 * The engine's public entry for faces and images: what code outside the serving engine (the trainer, the
 * command-line tools) may use. Everything here is re-exported from its own file; importing this module instead
 * of those files keeps the trainer on one stable surface while the engine's inner layout changes.
 */
export { decodeImage, encodeJpeg, encodePng } from "./image.ts";
export type { DecodeOptions, RawImage } from "./image.ts";
export { alignedCrop, createFacePipeline, FACE_MODELS, prepareFaceInput } from "./faces.ts";
export type { AlignedFace, Box, Face, FacePipeline, FacePipelineOptions } from "./faces.ts";
export { openModel, readManifest } from "./session.ts";
export type { ExecutionProvider, ModelSession, OpenOptions, TensorData } from "./session.ts";
