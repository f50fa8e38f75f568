/**
 * The import rules of the house, read from the real module graph (`deno info --json`, types included): src/
 * imports neither routes/, openapi/ nor Hono; model/ imports nothing above it; no two project files import each
 * other through a chain (no cycle). A planted back-import makes this fail.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).href;
/** Every entry point of the serving code: the server, the CLI, the OpenAPI generator, the public entry. */
const ENTRIES = ["routes/server.ts", "src/detect.ts", "openapi/generate.ts", "src/mod.ts"];

interface InfoModule {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier?: string }; type?: { specifier?: string } }[];
}

/** The project-file import graph (`path -> imported paths and bare package specifiers`) from the entries. */
async function importGraph(entries: readonly string[]): Promise<Map<string, Set<string>>> {
  const graph = new Map<string, Set<string>>();
  for (const entry of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", new URL(entry, ROOT).pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const { modules } = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
    for (const m of modules) {
      if (!m.specifier.startsWith(ROOT) || m.specifier.includes("/node_modules/")) continue;
      const from = m.specifier.slice(ROOT.length);
      const to = graph.get(from) ?? new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const target of [d.code?.specifier, d.type?.specifier]) {
          if (!target) continue;
          if (target.startsWith(ROOT) && !target.includes("/node_modules/")) {
            to.add(target.slice(ROOT.length));
          } else if (!target.startsWith("file:")) to.add(d.specifier);
        }
      }
      graph.set(from, to);
    }
  }
  return graph;
}

/** The import cycles among project files (each as the path around it). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (u: string) => {
    state.set(u, "open");
    stack.push(u);
    for (const v of graph.get(u) ?? []) {
      if (!graph.has(v)) continue;
      if (state.get(v) === "open") found.push([...stack.slice(stack.indexOf(v)), v]);
      else if (!state.has(v)) visit(v);
    }
    stack.pop();
    state.set(u, "done");
  };
  for (const u of graph.keys()) if (!state.has(u)) visit(u);
  return found;
}

const graph = await importGraph(ENTRIES);
const edges = [...graph].flatMap(([from, to]) => [...to].map((t) => [from, t] as const));

Deno.test("src/ imports neither routes/, openapi/ nor Hono", () => {
  const bad = edges.filter(([from, to]) =>
    from.startsWith("src/") && (/^(routes|openapi)\//.test(to) || /^(hono|@hono\/)/.test(to))
  );
  assert.deepEqual(bad, []);
  assert.ok(graph.has("src/registry.ts") && graph.has("routes/app.ts"), "the graph covers both layers");
});

Deno.test("model/ imports nothing above it", () => {
  const bad = edges.filter(([from, to]) =>
    from.startsWith("model/") && /^(src|routes|openapi|train)\//.test(to)
  );
  assert.deepEqual(bad, []);
});

Deno.test("no import cycle between project files", () => {
  assert.deepEqual(cycles(graph), []);
  // The check itself finds a planted one.
  assert.equal(cycles(new Map([["a.ts", new Set(["b.ts"])], ["b.ts", new Set(["a.ts"])]])).length, 1);
});
