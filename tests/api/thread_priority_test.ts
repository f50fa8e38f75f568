/**
 * `COMPUTE_NICE`: a started server lowers every thread but its main one (onnxruntime's pools, libvips, Deno's
 * own) to that nice value, and the main thread, which runs the event loop, keeps nice 0. Read from the child's
 * `/proc/<pid>/task/<tid>/stat` (field 19 is the nice value). Linux only.
 */
import assert from "node:assert/strict";
import { spawnServer, tinyModelDir } from "./fixtures.ts";

/**
 * Nice value of each thread of `pid`, by thread id. Deno lets only `--allow-all` read `/proc/<pid>/task` (the
 * test task grants less), so a child shell prints each thread's stat line.
 */
async function threadNice(pid: number): Promise<Map<number, number>> {
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `for t in /proc/${pid}/task/*; do cat "$t/stat" 2>/dev/null; echo; done`],
    stdout: "piped",
  }).output();
  const nice = new Map<number, number>();
  for (const stat of new TextDecoder().decode(out.stdout).split("\n").filter(Boolean)) {
    // "tid (comm) state ...": after "(comm)" the state is field 3 and the nice value field 19.
    nice.set(Number(stat.split(" ")[0]), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
  }
  return nice;
}

Deno.test({
  name: "COMPUTE_NICE lowers every thread but the main one",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dir = await tinyModelDir("fer-nice-");
    const server = spawnServer({ MODEL_DIR: dir, DEFAULT_MODEL: "tiny", COMPUTE_NICE: "7" });
    try {
      await server.waitFor("ready");
      const pid = server.child.pid;
      let nice = await threadNice(pid);
      // The first scan runs right after ready; allow it (a child shell) a few seconds.
      for (let i = 0; i < 50 && [...nice].some(([tid, n]) => tid !== pid && n !== 7); i++) {
        await new Promise((r) => setTimeout(r, 100));
        nice = await threadNice(pid);
      }
      assert.equal(nice.get(pid), 0, "the main thread keeps nice 0");
      const others = [...nice].filter(([tid]) => tid !== pid);
      assert.ok(others.length >= 2, `expected worker threads, found ${others.length}`);
      assert.deepEqual(others.filter(([, n]) => n !== 7), [], "every other thread at nice 7");
    } finally {
      server.child.kill("SIGTERM");
      await server.done;
      await server.child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
