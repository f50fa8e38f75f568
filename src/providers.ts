/**
 * The onnxruntime execution providers the service can ask for: the one list from which the config enum, the
 * session options and the registry's types derive. `cuda` falls back to `cpu` when it cannot start.
 */

/** Every execution provider, preferred first when configured. */
export const EXECUTION_PROVIDERS = ["cpu", "cuda"] as const;

/** One execution provider name. */
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];
