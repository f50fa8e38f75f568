/**
 * Holds the import rules of the house on the real tree, and proves on planted trees that each rule fails when
 * someone breaks it (a checker that passes everything would pass the first test too).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkImports } from "./imports.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("the project's imports follow the house rules", async () => {
  assert.deepEqual(await checkImports(ROOT), []);
});

/** Writes files into a fresh temporary tree and returns the rules its checker reports. */
async function plantedRules(files: Record<string, string>): Promise<string[]> {
  const root = await Deno.makeTempDir({ prefix: "scan-fer-layout-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(join(root, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(root, path), text);
    }
    return (await checkImports(root)).map((v) => v.rule).sort();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a planted back-import, Hono in the engine, a cycle, a second door and a dynamic import all fail", async () => {
  assert.deepEqual(
    await plantedRules({ "src/a.ts": 'import { x } from "../routes/app.ts";\n', "routes/app.ts": "" }),
    [
      "layers",
    ],
  );
  assert.deepEqual(
    await plantedRules({ "model/m.ts": 'export * from "../src/mod.ts";\n', "src/mod.ts": "" }),
    [
      "layers",
    ],
  );
  assert.deepEqual(await plantedRules({ "src/a.ts": 'import { Hono } from "hono";\n' }), ["engine-http"]);
  assert.deepEqual(
    await plantedRules({ "src/a.ts": 'import "./b.ts";\n', "src/b.ts": 'import { a } from "./a.ts";\n' }),
    ["cycle"],
  );
  assert.deepEqual(await plantedRules({ "train/t.ts": 'import sharp from "sharp";\n' }), ["door"]);
  assert.deepEqual(
    await plantedRules({ "train/t.ts": 'const m = await import("./fit.ts");\n', "train/fit.ts": "" }),
    [
      "dynamic-import",
    ],
  );
  assert.deepEqual(await plantedRules({ "train/t.ts": "const m = await import(`./${name}.ts`);\n" }), [
    "dynamic-import",
  ]);
  assert.deepEqual(await plantedRules({ "train/t.ts": 'import { f } from "../src/faces/pipeline.ts";\n' }), [
    "public-entry",
  ]);
});

Deno.test("the checker accepts what the rules allow", async () => {
  assert.deepEqual(
    await plantedRules({
      "routes/app.ts": 'import { Hono } from "hono";\nimport { r } from "../src/registry.ts";\n',
      "src/registry.ts": 'import { m } from "../model/manifest.ts";\n',
      "src/image.ts": 'import sharp from "sharp";\n',
      "model/manifest.ts": '// import { x } from "../src/mod.ts"; (a comment, not an import)\n',
      "train/eval.ts": 'import { decodeImage } from "../src/mod.ts";\nconst tf = await import(backend);\n',
    }),
    [],
  );
});
