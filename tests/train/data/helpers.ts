/** Shared bits of the dataset-reader tests: fixture paths and a temp copy with one file replaced. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { InputSpec } from "../../../model/manifest.ts";
import { SCAN_CCI_INPUT } from "../../../model/spec.ts";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures/datasets");

/** Copies a fixture folder to a temp dir, writes `files` (relative path -> text) over it, returns the root. */
export async function fixtureCopy(name: string, files: Record<string, string>): Promise<string> {
  const tmp = await Deno.makeTempDir({ prefix: "scan-fer-data-" });
  await new Deno.Command("cp", { args: ["-r", join(FIXTURES, name), tmp] }).output();
  const root = join(tmp, name);
  for (const [rel, text] of Object.entries(files)) {
    await Deno.mkdir(dirname(join(root, rel)), { recursive: true });
    await Deno.writeTextFile(join(root, rel), text);
  }
  return root;
}

/** SCAN+CCI's 224x224 `fill` input as a manifest spec: what training and serving crops are compared at. */
export const FILL_224: InputSpec = {
  ...SCAN_CCI_INPUT,
  shape: [1, 3, 224, 224],
  size: { width: 224, height: 224 },
  mean: [...SCAN_CCI_INPUT.mean],
  std: [...SCAN_CCI_INPUT.std],
  resize: "fill",
};
