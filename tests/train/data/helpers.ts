/** Shared bits of the dataset-reader tests: fixture paths and a temp copy with one file replaced. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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
