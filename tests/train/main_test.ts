import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { exampleConfig, parseConfig } from "../../train/config.ts";
import { main } from "../../train/main.ts";
import { computeMetrics } from "../../train/metrics.ts";
import { FIXTURES } from "./data/helpers.ts";
import { writeColourModel } from "./colour_model.ts";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "../..");
const tmp = await Deno.makeTempDir();

/** `deno task train`'s own command line (deno.json), so the tests run the CLI with the task's permissions. */
const TASK: string[] = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json"))).tasks.train.split(" ")
  .slice(1);

/** Runs `deno task train ...` as a user would. */
async function train(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [...TASK, ...args],
    cwd: REPO,
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

Deno.test("train metrics scores the ABAW submission format against an annotation end to end", async () => {
  const labels = join(tmp, "vid.txt"), preds = join(tmp, "sub.csv");
  await Deno.writeTextFile(labels, "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise\n0\n4\n-1\n4\n6\n");
  await Deno.writeTextFile(
    preds,
    "image_location,Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise\n" +
      "vid/00001.jpg,0\nvid/00002.jpg,4\nvid/00003.jpg,2\nvid/00004.jpg,0\nvid/00005.jpg,6\n",
  );
  const r = await train("metrics", "--labels", labels, "--predictions", preds);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  // 4 annotated frames (one -1): neutral ok, happiness ok, happiness->neutral, surprise ok.
  assert.equal(m.ignored, 1);
  assert.equal(m.accuracy, 0.75);
  assert.equal(m.per_class.happiness.recall, 0.5);
  assert.deepEqual(m.confusion[4], [1, 0, 0, 0, 1, 0, 0]);
  assert.ok(Math.abs(m.abaw2020 - (0.67 * m.f1_macro + 0.33 * 0.75)) < 1e-12);
});

Deno.test("train metrics names both files and counts when lengths differ", async () => {
  const a = join(tmp, "a.txt"), b = join(tmp, "b.txt");
  await Deno.writeTextFile(a, "0\n1\n2\n");
  await Deno.writeTextFile(b, "0\n1\n");
  const r = await train("metrics", "--labels", a, "--predictions", b);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.trim(),
    `error: Cannot pair labels with predictions: "${a}" has 3 labels but "${b}" has 2 predictions`,
  );
});

Deno.test("train CLI: unknown flags and missing files give one error line and exit 2", async () => {
  for (
    const [args, re] of [
      [["metrics", "--labels", "x", "--colour", "red"], /^error: unknown option --colour \(see --help\)$/],
      [
        ["metrics", "--labels", "/nonexistent/l.txt", "--predictions", "p"],
        /^error: Cannot read labels file "\/nonexistent\/l\.txt": no such file$/,
      ],
      [
        ["eval", "--model", join(tmp, "none.manifest.json"), "--dataset", "folder:/x"],
        /^error: Cannot read model manifest ".*none\.manifest\.json": no such file$/,
      ],
      [["frobnicate"], /^error: unknown command "frobnicate"/],
      [["fit"], /^error: missing --config \(see --help\)$/],
    ] as const
  ) {
    const r = await train(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr.trim(), re);
    assert.equal(r.stderr.trim().split("\n").length, 1, "no stack trace");
  }
  const help = await train("prepare", "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--shard i\/N/);
});

Deno.test("train CLI exit codes are uniform: wrong paths and usage 2 in every command (export, gradcam too), bad content 1", async () => {
  const config = join(tmp, "example.json");
  await Deno.writeTextFile(config, JSON.stringify(exampleConfig()));
  const invalid = join(tmp, "invalid.json");
  await Deno.writeTextFile(invalid, JSON.stringify({ ...exampleConfig(), epochs: "x" }));
  const garbage = join(tmp, "garbage.safetensors");
  await Deno.writeFile(garbage, new Uint8Array(12));
  const missing = join(tmp, "missing.safetensors");
  const folderConfig = join(tmp, "folder.json");
  await Deno.writeTextFile(folderConfig, JSON.stringify({ datasets: [{ reader: "folder", root: tmp }] }));
  const root = /^error: Cannot read dataset "affwild2": folder "\/data\/Aff-Wild2" does not exist$/;
  const cases: [string[], number, RegExp][] = [
    // init-config's example roots, unedited.
    [["fit", "--config", config], 2, root],
    [["card", "--config", config, "--out", join(tmp, "card.md")], 2, root],
    [
      ["eval", "--model", invalid, "--dataset", "rafdb:/nonexistent/RAF-DB:test"],
      2,
      /folder "\/nonexistent\/RAF-DB"/,
    ],
    [["prepare", "--dataset", "rafdb", "--out", tmp], 2, /^error: Cannot parse dataset "rafdb"/],
    [
      ["export", "--weights", missing, "--out", tmp],
      2,
      /^error: Cannot read weights ".*missing\.safetensors": no such file$/,
    ],
    [["export", "--weights", garbage], 2, /^error: Cannot export model: --out DIR is required$/],
    [
      ["export", "--weights", garbage, "--out", tmp, "--bogus"],
      2,
      /^error: unknown option --bogus \(see --help\)$/,
    ],
    [["gradcam", "--weights", garbage, "--out", tmp], 2, /at least one IMAGE are required$/],
    [
      ["gradcam", "--weights", missing, "--out", tmp, "a.jpg"],
      2,
      /^error: Cannot read weights ".*": no such file or folder$/,
    ],
    [["export", "--weights", garbage, "--out", tmp], 1, /^error: Cannot read safetensors: /],
    [["fit", "--config", invalid], 1, /^error: Cannot read config ".*invalid\.json": epochs: /],
    // --val names the validation split; its root is checked before any work, like the training roots.
    [
      ["fit", "--config", folderConfig, "--val", "folder:/nonexistent/val"],
      2,
      /^error: Cannot read dataset "folder": folder "\/nonexistent\/val" does not exist$/,
    ],
    [["fit", "--config", folderConfig, "--val", "rafdb"], 2, /^error: Cannot parse dataset "rafdb"/],
  ];
  const lines: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    for (const [args, code, re] of cases) {
      lines.length = 0;
      assert.equal(await main(args), code, `${args.join(" ")}: ${lines.join("\n")}`);
      assert.equal(lines.length, 1, `one line: ${lines.join("\n")}`);
      assert.match(lines[0], re);
    }
  } finally {
    console.error = error;
  }
});

Deno.test("train init-config prints a config that parses back to the paper's example", async () => {
  const r = await train("init-config");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(parseConfig(JSON.parse(r.stdout)), exampleConfig());
});

Deno.test("train eval runs an ONNX model on a folder split and writes metrics, predictions and a plot", async () => {
  const manifest = await writeColourModel(tmp);
  const out = join(tmp, "eval");
  const r = await train(
    "eval",
    "--model",
    manifest,
    "--dataset",
    `folder:${join(FIXTURES, "folder")}:val`,
    "--out",
    out,
  );
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  assert.equal(m.samples, 7);
  assert.ok(Math.abs(m.accuracy - 6 / 7) < 1e-9);
  for (const f of ["metrics.json", "predictions.txt", "confusion.svg"]) await Deno.stat(join(out, f));
});

Deno.test("train prepare --shard i/N then merge gives one manifest of every item", async () => {
  const out = join(tmp, "prep");
  const ds = `expw:${join(FIXTURES, "expw")}`;
  for (const shard of ["0/2", "1/2"]) {
    const r = await train("prepare", "--dataset", ds, "--out", out, "--align", "box", "--shard", shard);
    assert.equal(r.code, 0, r.stderr);
  }
  const merged = await train("merge", "--out", out);
  assert.equal(merged.code, 0, merged.stderr);
  assert.equal(JSON.parse(merged.stdout).entries, 3);
  const again = await train("prepare", "--dataset", ds, "--out", out, "--align", "box", "--shard", "0/2");
  assert.equal(JSON.parse(again.stdout).written, 0);
  const bad = await train("prepare", "--dataset", ds, "--out", out, "--align", "box", "--shard", "3/2");
  assert.equal(bad.code, 2);
});

Deno.test("train card writes a model card with the mix's per-class counts and the given metrics", async () => {
  const config = join(tmp, "card.json"),
    metrics = join(tmp, "card-metrics.json"),
    card = join(tmp, "CARD.md");
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      datasets: [{ reader: "folder", root: join(FIXTURES, "folder"), split: "val", maxPerClass: 2 }],
    }),
  );
  await Deno.writeTextFile(metrics, JSON.stringify({ ...computeMetrics([0, 1], [0, 0]), dataset: "folder" }));
  const r = await train("card", "--config", config, "--metrics", metrics, "--out", card);
  assert.equal(r.code, 0, r.stderr);
  const md = await Deno.readTextFile(card);
  // neutral 3 -> capped to 2, anger 2, happiness 2
  assert.match(md, /\| folder folder:val \| 2 \(3\) \| 2 \| 0 \| 0 \| 2 \| 0 \| 0 \|/);
  assert.match(md, /Accuracy 50\.0%/);
  assert.match(md, /Not a trained expression model/);
});
