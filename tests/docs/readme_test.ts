/**
 * Keeps the READMEs true to the tree: every project path they name exists, and the configuration table lists
 * exactly the variables of `CONFIG` with their defaults. A file moved without its docs fails here.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { CONFIG } from "../../src/config.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const READMES = ["README.md", "model/README.md", "train/README.md"];
const PROJECT_PATH = /`((?:src|routes|model|train|openapi|tests|deploy)\/[A-Za-z0-9_./{},-]*)`/g;

/** Expands `a/{b,c}.ts` into `a/b.ts`, `a/c.ts`; other paths stand as they are. */
function expand(path: string): string[] {
  const m = path.match(/^(.*)\{([^}]*)\}(.*)$/);
  return m ? m[2].split(",").flatMap((part) => expand(`${m[1]}${part}${m[3]}`)) : [path];
}

Deno.test("every project path named in the READMEs exists", async () => {
  const missing: string[] = [];
  for (const readme of READMES) {
    const text = await Deno.readTextFile(ROOT + readme);
    for (const [, path] of text.matchAll(PROJECT_PATH)) {
      for (const p of expand(path.replace(/[.,]+$/, ""))) {
        if (p.includes("*") || p.includes("<")) continue;
        if (!existsSync(ROOT + p)) missing.push(`${readme}: ${p}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

Deno.test("the README configuration table is the CONFIG table (names and defaults, in order)", async () => {
  const text = await Deno.readTextFile(ROOT + "README.md");
  const rows = [...text.matchAll(/^\| `([A-Z][A-Z0-9_]+)` +\| (`[^`]*`|\(empty\)) +\|/gm)].map((
    [, name, value],
  ) => [name, value === "(empty)" ? "" : value.slice(1, -1)]);
  assert.deepEqual(rows, Object.entries(CONFIG).map(([name, s]) => [name, s.default]));
});
