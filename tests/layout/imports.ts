/**
 * The import rules of the house, as a checker over source text: which folder may import which, one module per
 * native dependency, no cycles between project files, and no dynamic `import()` of a project file in the
 * trainer. It reads files as text (no type checker, no module graph from Deno) so that it runs in milliseconds
 * and can be pointed at a planted tree to prove that it fails.
 */
import { dirname, join, relative, resolve } from "node:path";

/** One import found in a source file. */
export interface ImportEdge {
  /** Importing file, relative to the root, with "/" separators. */
  from: string;
  /** The specifier as written. */
  specifier: string;
  /** The imported project file relative to the root, when the specifier is a relative path. */
  to?: string;
  /** True for `import(...)` expressions. */
  dynamic: boolean;
  /** True when the specifier is built at run time (a template literal with substitutions). */
  computed: boolean;
}

/** A broken rule: which edge (or cycle) and why. */
export interface Violation {
  rule: string;
  detail: string;
}

/** The folders checked; tests, fixtures and generated files are not part of the layout. */
export const LAYERS = ["src", "routes", "model", "train", "openapi"] as const;

/** What each folder may import, by top folder of the imported project file. */
export const ALLOWED: Record<(typeof LAYERS)[number], readonly string[]> = {
  routes: ["routes", "src", "model", "openapi"],
  openapi: ["openapi", "src", "model", "routes"],
  src: ["src", "model"],
  model: ["model"],
  // The trainer reaches the engine only through its public entry (checked separately below).
  train: ["train", "model", "src"],
};

/** Packages (npm or `node:` built-ins) that only one module may import: one door per native dependency. */
export const DOORS: Record<string, string> = {
  "sharp": "src/image.ts",
  "onnxruntime-node": "src/session.ts",
  "node:sqlite": "src/jobs/store.ts",
};

/** Bare specifiers no engine file may import: the engine knows nothing of HTTP. */
const HTTP_PACKAGES = /^(hono|@hono\/)/;

const STATIC_IMPORT = /(?:^|[\n;])\s*(?:import|export)\s[^;'"`]*?\bfrom\s*(["'])([^"']+)\1/g;
const SIDE_EFFECT_IMPORT = /(?:^|[\n;])\s*import\s*(["'])([^"']+)\1/g;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*(["'`])((?:(?!\1).)*)\1/g;

/** Removes comments so that examples in JSDoc are not taken for imports. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** Lists the imports of one file's text. */
export function importsOf(from: string, text: string, root: string): ImportEdge[] {
  const code = stripComments(text);
  const edges: ImportEdge[] = [];
  const add = (specifier: string, dynamic: boolean, computed: boolean) => {
    const relativeSpec = specifier.startsWith("./") || specifier.startsWith("../");
    const to = relativeSpec && !computed
      ? relative(root, resolve(root, dirname(from), specifier)).replaceAll("\\", "/")
      : undefined;
    edges.push({ from, specifier, to, dynamic, computed });
  };
  for (const m of code.matchAll(STATIC_IMPORT)) add(m[2], false, false);
  for (const m of code.matchAll(SIDE_EFFECT_IMPORT)) add(m[2], false, false);
  for (const m of code.matchAll(DYNAMIC_IMPORT)) add(m[2], true, m[1] === "`" && m[2].includes("${"));
  return edges;
}

/** Every `.ts` file under the layer folders of `root`, relative, sorted. */
export async function sourceFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(join(root, dir))];
    } catch {
      return;
    }
    for (const e of entries) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(path);
    }
  }
  for (const layer of LAYERS) await walk(layer);
  return out.sort();
}

/** Checks every rule over the tree at `root`; an empty list means the layout holds. */
export async function checkImports(root: string): Promise<Violation[]> {
  const files = await sourceFiles(root);
  const edges: ImportEdge[] = [];
  for (const f of files) edges.push(...importsOf(f, await Deno.readTextFile(join(root, f)), root));
  const violations: Violation[] = [];
  const layerOf = (path: string) => path.split("/")[0] as (typeof LAYERS)[number];
  for (const e of edges) {
    const layer = layerOf(e.from);
    const where = `${e.from} imports "${e.specifier}"`;
    if (e.to !== undefined && (LAYERS as readonly string[]).includes(layerOf(e.to))) {
      if (!ALLOWED[layer].includes(layerOf(e.to))) {
        violations.push({ rule: "layers", detail: `${where}: ${layer}/ may import only ${ALLOWED[layer]}` });
      }
      if (layer === "train" && layerOf(e.to) === "src" && e.to !== "src/mod.ts") {
        violations.push({
          rule: "public-entry",
          detail: `${where}: train/ reaches src/ only through src/mod.ts`,
        });
      }
    }
    if (layer === "src" && HTTP_PACKAGES.test(e.specifier)) {
      violations.push({ rule: "engine-http", detail: `${where}: src/ must not import Hono` });
    }
    const door = DOORS[e.specifier.split("/")[0]];
    if (door !== undefined && e.from !== door) {
      violations.push({ rule: "door", detail: `${where}: only ${door} imports ${e.specifier}` });
    }
    if (layer === "train" && e.dynamic && (e.to !== undefined || e.computed)) {
      violations.push({ rule: "dynamic-import", detail: `${where}: no dynamic import() of a project file` });
    }
  }
  violations.push(...findCycles(edges, new Set(files)));
  return violations;
}

/** Static import cycles between project files (Tarjan's strongly connected components). */
function findCycles(edges: ImportEdge[], files: Set<string>): Violation[] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (e.dynamic || e.to === undefined || !files.has(e.to)) continue;
    next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: Violation[] = [];
  function visit(v: string) {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = (next.get(v) ?? []).includes(v);
      if (component.length > 1 || selfLoop) {
        out.push({ rule: "cycle", detail: `import cycle: ${component.sort().join(" <-> ")}` });
      }
    }
  }
  for (const f of files) if (!index.has(f)) visit(f);
  return out;
}
