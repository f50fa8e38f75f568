/**
 * A throwaway PostgreSQL cluster for tests: `initdb` into a temp folder, `postgres` on a free loopback port (trust
 * auth, no fsync, the socket in the folder), stopped with `pg_ctl -m immediate` and deleted afterwards. The
 * binaries are Debian's (`/usr/lib/postgresql/<version>/bin`) or on PATH. As root the cluster runs as the
 * `postgres` user (initdb refuses root) through `runuser`. Without the binaries the tests skip, unless
 * `REQUIRE_POSTGRES=1` (CI) makes that a failure.
 */
import { join } from "node:path";

/** A running cluster: its `postgres://` URL and how to stop it. */
export interface TestPostgres {
  url: string;
  stop(): Promise<void>;
}

/** The folder holding `initdb`, `pg_ctl` and `postgres`, newest Debian version first, else from PATH. */
export function postgresBin(): string | undefined {
  const found: string[] = [];
  try {
    for (const e of Deno.readDirSync("/usr/lib/postgresql")) found.push(e.name);
  } catch { /* not Debian's layout */ }
  found.sort((a, b) => Number(b) - Number(a));
  for (const v of found) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    if (exists(join(dir, "initdb"))) return dir;
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && exists(join(dir, "initdb")) && exists(join(dir, "pg_ctl"))) return dir;
  }
  return undefined;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Why the Postgres tests cannot run here (no binaries), or undefined when they can; throws when
 * `REQUIRE_POSTGRES=1` and they cannot, so CI fails instead of skipping.
 */
export function postgresMissing(): string | undefined {
  if (postgresBin()) return undefined;
  const why =
    "PostgreSQL is not installed (apt-get install -y postgresql): the Postgres job store tests skip";
  if (Deno.env.get("REQUIRE_POSTGRES") === "1") throw new Error(`REQUIRE_POSTGRES=1 but ${why}`);
  return why;
}

/** Skips (with the reason printed once) when Postgres is missing; use as `ignore: SKIP_WITHOUT_POSTGRES`. */
export const SKIP_WITHOUT_POSTGRES: boolean = (() => {
  const why = postgresMissing();
  if (why) console.warn(why);
  return why !== undefined;
})();

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function exec(cmd: string, args: string[], asPostgres: boolean): Promise<void> {
  const [command, argv] = asPostgres ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  const out = await new Deno.Command(command, { args: argv, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`Cannot start test Postgres: ${cmd} exited ${out.code}: ${text.slice(-800)}`);
  }
}

/** Starts a fresh cluster with database `fer` owned by user `fer` (see the module note). */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error("Cannot start test Postgres: no initdb found");
  const root = Deno.uid() === 0;
  const dir = await Deno.makeTempDir({ prefix: "fer-pg-" });
  if (root) await Deno.chown(dir, uidOf("postgres"), null);
  const data = join(dir, "data");
  await exec(join(bin, "initdb"), ["-D", data, "-U", "fer", "--auth=trust", "--no-sync", "-E", "UTF8"], root);
  // A port taken between the probe and the start is retried with another.
  for (let attempt = 0;; attempt++) {
    const port = freePort();
    try {
      await exec(join(bin, "pg_ctl"), [
        "-D",
        data,
        "-w",
        "-l",
        join(dir, "log"),
        "-o",
        `-k ${dir} -h 127.0.0.1 -p ${port} -F -c max_connections=50`,
        "start",
      ], root);
    } catch (err) {
      if (attempt < 2) continue;
      throw err;
    }
    const stop = async () => {
      await exec(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], root).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    };
    try {
      await exec(join(bin, "createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", "fer", "fer"], root);
    } catch (err) {
      await stop();
      throw err;
    }
    return { url: `postgres://fer@127.0.0.1:${port}/fer`, stop };
  }
}

function uidOf(user: string): number {
  const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`Cannot start test Postgres as root: no "${user}" user to run it`);
  return Number(line.split(":")[2]);
}
