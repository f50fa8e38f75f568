/**
 * deploy/annotate-job.yaml agrees with the CLI it runs: an Indexed Job whose `--shards` is its completion count,
 * whose every index parses as a shard (from JOB_COMPLETION_INDEX, as Kubernetes sets it), with the `annotate`
 * task's permissions, only environment variables the app reads (valid values), and exit 2 failing the Job.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { parseAnnotateArgs } from "../../src/annotate.ts";
import { ENV_VARS, loadConfig } from "../../src/config.ts";

interface Container {
  name: string;
  command: string[];
  env: { name: string; value: string }[];
}
interface IndexedJob {
  apiVersion: string;
  kind: string;
  spec: {
    completionMode: string;
    completions: number;
    parallelism: number;
    podFailurePolicy: {
      rules: { action: string; onExitCodes: { containerName: string; operator: string; values: number[] } }[];
    };
    template: { spec: { restartPolicy: string; containers: Container[] } };
  };
}

const job = parse(
  await Deno.readTextFile(new URL("../../deploy/annotate-job.yaml", import.meta.url)),
) as IndexedJob;
const container = job.spec.template.spec.containers[0];
const task = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url))).tasks.annotate;

Deno.test("annotate job: an Indexed Job whose shards are its completions, one shard per index", () => {
  assert.equal(job.apiVersion, "batch/v1");
  assert.equal(job.kind, "Job");
  assert.equal(job.spec.completionMode, "Indexed");
  const i = container.command.indexOf("src/annotate.ts");
  assert.ok(i > 0, "runs src/annotate.ts");
  const args = container.command.slice(i + 1);
  assert.ok(!args.includes("--shard"), "the shard comes from JOB_COMPLETION_INDEX");
  for (let index = 0; index < job.spec.completions; index++) {
    const a = parseAnnotateArgs(args, { JOB_COMPLETION_INDEX: String(index) });
    assert.deepEqual([a.shards, a.shard], [job.spec.completions, index]);
  }
  assert.throws(() => parseAnnotateArgs(args, { JOB_COMPLETION_INDEX: String(job.spec.completions) }));
});

Deno.test("annotate job: the task's permissions, known and valid environment, exit 2 fails the Job", () => {
  const i = container.command.indexOf("src/annotate.ts");
  assert.deepEqual(container.command.slice(0, i), [
    "deno",
    "run",
    ...task.split(/\s+/).filter((a: string) => a.startsWith("--")),
  ]);
  const known = new Set<string>(ENV_VARS.map((v) => v.name));
  const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
  for (const name of Object.keys(env)) assert.ok(known.has(name), `unknown env var ${name}`);
  loadConfig(env);
  assert.equal(job.spec.template.spec.restartPolicy, "Never");
  const rule = job.spec.podFailurePolicy.rules.find((r) => r.action === "FailJob");
  assert.deepEqual([rule?.onExitCodes.containerName, rule?.onExitCodes.values], [container.name, [2]]);
});
