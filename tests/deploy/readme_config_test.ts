import assert from "node:assert/strict";
import { ENV_VARS } from "../../src/config.ts";

Deno.test("the README configuration table lists every CONFIG variable with its default", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const start = readme.indexOf("### Configuration");
  const section = readme.slice(start, readme.indexOf("\n### ", start + 1));
  const rows = new Map(
    [...section.matchAll(/^\| `([A-Z_]+)`\s*\| ([^|]+?)\s*\|/gm)].map((m) => [m[1], m[2]]),
  );
  for (const v of ENV_VARS) {
    assert.ok(rows.has(v.name), `README lacks a row for ${v.name}`);
    assert.equal(rows.get(v.name), v.default === "" ? "(empty)" : `\`${v.default}\``, v.name);
  }
});
