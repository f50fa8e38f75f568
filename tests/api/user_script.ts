/**
 * Runs a user's script the way a user would: a separate Deno process, outside this project (no deno.json, no
 * lock file), allowed to import from the test server only. `deno check` runs first, so a script that needs a
 * cast or does not match the types fails the test before it calls anything.
 */
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { startServer } from "../../routes/server.ts";
import { createLogger } from "../../src/logger.ts";
import { apiModelDir } from "./fixtures.ts";

/**
 * Runs `fn` against the real server (routes/server.ts on a loopback port, the API test models, `apiKey`
 * required) with a temporary folder for the user's files; both are gone afterwards.
 */
export async function withApiServer(
  apiKey: string,
  fn: (s: { base: string; port: number; dir: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fer-user-" });
  const server = startServer(
    loadConfig({
      PORT: "0",
      HOST: "127.0.0.1",
      MODEL_DIR: await apiModelDir(),
      API_KEYS: apiKey,
      LOG_LEVEL: "error",
      DATA_DIR: join(dir, "jobs"),
    }),
    { logger: createLogger({ level: "error" }), startedAt: performance.now() },
  );
  try {
    await server.ready;
    await fn({ base: `http://127.0.0.1:${server.port}`, port: server.port, dir });
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Type-checks then runs `source` (written to `name` in `dir`); returns the last stdout line parsed as JSON. */
export async function checkAndRun(
  dir: string,
  name: string,
  source: string,
  { port }: { port: number },
): Promise<unknown> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, source);
  const common = ["--no-config", "--no-lock", `--allow-import=127.0.0.1:${port}`];
  const env = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  for (const args of [["check", ...common, path], ["run", ...common, "--allow-net", "--allow-read", path]]) {
    const out = await new Deno.Command(Deno.execPath(), { args, cwd: dir, env }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (out.code !== 0) throw new Error(`Cannot ${args[0]} ${name}: exit ${out.code}\n${text}`);
    if (args[0] === "run") return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
  }
  throw new Error("unreachable");
}
