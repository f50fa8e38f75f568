import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, main } from "../../model/build.ts";
import { buildScanCci } from "../../model/scan_cci/build.ts";
import { parseManifest, sha256Hex } from "../../model/manifest.ts";
import { openModel } from "../../src/session.ts";
import { scanCciParamSpecs } from "../../model/scan_cci/params.ts";
import { randomScanCci } from "../../model/scan_cci/random.ts";
import { LABEL_ORDERS } from "../../model/spec.ts";
import { writeSafetensors } from "../../model/weights/safetensors.ts";
import { vggface2Backbone } from "../../model/weights/vggface2.ts";

const tmp = await Deno.makeTempDir({ prefix: "scan-cci-build-" });
const tiny = randomScanCci({ seed: 1, width: 16 });
const weightsFile = join(tmp, "tiny.safetensors");
// As a user's converted checkpoint could look: DataParallel prefixes and BN counters included.
Deno.writeFileSync(
  weightsFile,
  writeSafetensors({
    ...Object.fromEntries([...tiny].map(([k, v]) => [k.replace(/^base\./, "base.module."), v])),
    "base.bn1.num_batches_tracked": { shape: [], data: new Float32Array([1]) },
  }),
);

Deno.test("main() builds from safetensors: files, manifest (AffectNet labels, sha256, GFLOPs), trained", async () => {
  const out = join(tmp, "a");
  const { onnxPath, manifestPath } = await main([
    "--weights",
    weightsFile,
    "--labels",
    "affectnet",
    "--out",
    out,
  ]);
  assert.equal(onnxPath, join(out, "scan-cci.onnx"));
  const manifest = parseManifest(JSON.parse(Deno.readTextFileSync(manifestPath)));
  const bytes = Deno.readFileSync(onnxPath);
  assert.equal(manifest.sha256, await sha256Hex(bytes));
  assert.equal(manifest.bytes, bytes.length);
  assert.deepEqual(manifest.labels, [...LABEL_ORDERS.affectnet]);
  assert.equal(manifest.labelOrder, "affectnet");
  assert.equal(manifest.trained, true);
  assert.equal(manifest.precision, "fp32");
  assert.equal(manifest.provenance.weightsSha256, await sha256Hex(Deno.readFileSync(weightsFile)));
  assert.deepEqual(manifest.outputs.map((o) => o.name), ["logits", "head_logits", "attention_map"]);
  assert.deepEqual(manifest.outputs.map((o) => o.kind), ["logits", "logits", "attention"]);
  assert.equal(manifest.architecture.family, "scan-cci");
  assert.equal((manifest.architecture.details as { width: number }).width, 16);
  assert.ok(manifest.gflops > 0 && manifest.gflops < 1);
  assert.equal(Deno.readDirSync(out).toArray().length, 2, "no temporary files left");
  // The serving door accepts the pair: names, shapes and sha256 agree with the ONNX file.
  const session = await openModel(manifestPath);
  const result = await session.run({
    input: { data: new Float32Array(2 * 3 * 224 * 224), dims: [2, 3, 224, 224] },
  });
  assert.deepEqual(result.logits.dims, [2, 7]);
  assert.deepEqual(result.head_logits.dims, [2, 5, 7]);
  assert.deepEqual(result.attention_map.dims, [2, 28, 28]);
  await session.release();
});

Deno.test("buildScanCci() is deterministic and its full-width GFLOPs/parameters are the architecture's", async () => {
  const a = await buildScanCci({ tensors: tiny, labels: "affwild2", source: "t", trained: false, seed: 1 });
  const b = await buildScanCci({
    tensors: randomScanCci({ seed: 1, width: 16 }),
    labels: "affwild2",
    source: "t",
    trained: false,
    seed: 1,
  });
  assert.deepEqual(a.onnx, b.onnx);
  assert.deepEqual(a.manifest, b.manifest);
  assert.deepEqual(a.manifest.labels, [...LABEL_ORDERS.affwild2]);
  assert.equal(a.manifest.trained, false);
});

Deno.test("main() --random-seed --fp16 writes an fp16, untrained model with its seed", async () => {
  const out = join(tmp, "b");
  const r = await main([
    "--random-seed",
    "5",
    "--width",
    "16",
    "--fp16",
    "--labels",
    "affwild2",
    "--out",
    out,
    "--id",
    "tiny",
  ]);
  assert.equal(r.onnxPath, join(out, "tiny.onnx"));
  assert.equal(r.manifest.precision, "fp16");
  assert.equal(r.manifest.trained, false);
  assert.equal(r.manifest.provenance.seed, 5);
  assert.equal(r.manifest.id, "tiny");
});

Deno.test("main() refuses a bad weight file listing every problem and writes nothing", async () => {
  const t = Object.fromEntries([...tiny]);
  delete t["attention.fc.bias"];
  t["region.extra.weight"] = { shape: [1], data: new Float32Array(1) };
  t["base.layer1.0.conv1.weight"] = { shape: [1, 1], data: new Float32Array(1) };
  const bad = join(tmp, "bad.safetensors");
  Deno.writeFileSync(bad, writeSafetensors(t));
  const out = join(tmp, "c");
  await assert.rejects(main(["--weights", bad, "--labels", "affectnet", "--out", out]), (e: Error) => {
    assert.match(e.message, /3 problem\(s\)/);
    assert.match(e.message, /missing "attention\.fc\.bias"/);
    assert.match(e.message, /unexpected "region\.extra\.weight"/);
    assert.match(e.message, /"base\.layer1\.0\.conv1\.weight" has shape \[1,1\]/);
    return true;
  });
  assert.throws(() => Deno.statSync(out), Deno.errors.NotFound);
});

Deno.test("main() answers usage errors clearly", async () => {
  const cases: [string[], RegExp][] = [
    [["--labels", "affectnet", "--out", tmp], /exactly one of --weights FILE or --random-seed N/],
    [
      ["--random-seed", "1", "--labels", "fer", "--out", tmp],
      /--labels must be affectnet or affwild2, got "fer"/,
    ],
    [["--random-seed", "1", "--labels", "affwild2"], /--out DIR is required/],
    [["--random-seed", "x", "--labels", "affwild2", "--out", tmp], /--random-seed must be an integer/],
    [
      ["--random-seed", "1", "--width", "3", "--labels", "affwild2", "--out", tmp],
      /--width must be an integer dividing 64/,
    ],
    [["--random-seed", "1", "--bogus", "--labels", "affwild2", "--out", tmp], /Cannot build model: .*bogus/],
    [
      ["--weights", "x", "--backbone", "y", "--labels", "affwild2", "--out", tmp],
      /--backbone combines with --random-seed/,
    ],
    [["--random-seed", "1", "--out", tmp], /--labels is required: affectnet or affwild2\n/],
    [["--random-seed", "", "--labels", "affwild2", "--out", tmp], /--random-seed must be an integer/],
    [["--random-seed", "1", "--labels", "affwild2", "--out", tmp, "--id", "A/b"], /--id must be lower-case/],
    [["--random-seed", "1", "--labels", "affwild2", "--out", tmp, "extra"], /Cannot build model: .*extra/],
  ];
  for (const [args, pattern] of cases) {
    await assert.rejects(main(args), (e: Error) => {
      assert.match(e.message, pattern);
      assert.match(e.message, /Usage: deno task model:build/);
      return true;
    });
  }
});

Deno.test("cli() exit codes: --help 0 with usage, unreadable input file 2 naming it, bad weight content 1", async () => {
  const run = async (args: string[]) => {
    const lines: string[] = [];
    const code = await cli(args, { log: (s) => lines.push(s), error: (s) => lines.push(s) });
    return { code, text: lines.join("\n") };
  };
  for (const help of ["--help", "-h"]) {
    const r = await run([help]);
    assert.equal(r.code, 0);
    assert.match(r.text, /^Usage: deno task model:build/);
  }
  const missing = join(tmp, "nope.safetensors");
  let r = await run(["--weights", missing, "--labels", "affectnet", "--out", join(tmp, "m")]);
  assert.equal(r.code, 2);
  assert.equal(r.text, `Cannot read weights "${missing}": no such file`);
  r = await run(["--random-seed", "1", "--backbone", tmp, "--labels", "affwild2", "--out", join(tmp, "m")]);
  assert.equal(r.code, 2);
  assert.equal(r.text, `Cannot read backbone "${tmp}": it is a folder, expected a file`);
  r = await run(["--random-seed", "1", "--out", tmp]);
  assert.equal(r.code, 2);
  assert.match(r.text, /^Cannot build model: --labels is required: affectnet or affwild2\nUsage:/);
  const garbage = join(tmp, "garbage.safetensors");
  Deno.writeFileSync(garbage, new Uint8Array(12));
  r = await run(["--weights", garbage, "--labels", "affectnet", "--out", join(tmp, "m")]);
  assert.equal(r.code, 1);
  assert.match(r.text, /^Cannot read safetensors: /);
  assert.throws(() => Deno.statSync(join(tmp, "m")), Deno.errors.NotFound);
});

Deno.test("vggface2Backbone() names every problem at once (unexpected, mis-shaped, missing) and skips layer4/fc", () => {
  // The small fixture is a VGGFace2-shaped pickle with the wrong content: every problem must be named at once.
  const bytes = Deno.readFileSync(new URL("../fixtures/model/py2_p2.pkl", import.meta.url));
  assert.throws(() => vggface2Backbone(bytes), (e: Error) => {
    assert.match(e.message, /^Cannot load VGGFace2 backbone: \d+ problem\(s\)/);
    assert.match(e.message, /"conv1\.weight" has shape \[2,3,2,2\], expected \[64,3,7,7\]/);
    assert.match(e.message, /unexpected "fortran"/);
    assert.match(e.message, /missing "layer3\.5\.bn3\.running_var"/);
    assert.doesNotMatch(e.message, /layer4|fc\.bias/);
    return true;
  });
});

/** A protocol-4 pickle of {name: float32 array} as numpy 2 writes it (`_frombuffer` + in-band bytes). */
function numpyPickle(arrays: Map<string, { shape: number[]; data: Float32Array }>): Uint8Array {
  const parts: number[][] = [[0x80, 4, 0x7d, 0x28]];
  const enc = (s: string) => {
    const b = [...new TextEncoder().encode(s)];
    return [0x8c, b.length, ...b];
  };
  const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24];
  const chunks: Uint8Array[] = [];
  for (const [name, a] of arrays) {
    const head = [...enc(name), ...enc("numpy._core.numeric"), ...enc("_frombuffer"), 0x93, 0x28];
    const raw = new Uint8Array(a.data.buffer.slice(0));
    const tail = [
      ...enc("numpy"),
      ...enc("dtype"),
      0x93,
      ...enc("f4"),
      0x89,
      0x88,
      0x87,
      0x52,
      0x28,
      ...a.shape.flatMap((d) => [0x4a, ...u32(d)]),
      0x74,
      ...enc("C"),
      0x74,
      0x52,
    ];
    chunks.push(
      Uint8Array.from(head),
      Uint8Array.from([0x42, ...u32(raw.length)]),
      raw,
      Uint8Array.from(tail),
    );
  }
  chunks.unshift(Uint8Array.from(parts[0]));
  chunks.push(Uint8Array.from([0x75, 0x2e]));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

Deno.test("vggface2Backbone() maps a full-width VGGFace2-style pickle to base.* and drops layer4/fc", () => {
  const arrays = new Map(
    scanCciParamSpecs().filter((p) => p.name.startsWith("base.")).map((p, j) => {
      const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1)).map((_, i) => ((i + j) % 13) - 6);
      return [p.name.slice("base.".length), { shape: p.shape, data }];
    }),
  );
  arrays.set("layer4.0.conv1.weight", { shape: [2], data: new Float32Array(2) });
  arrays.set("fc.weight", { shape: [3], data: new Float32Array(3) });
  const got = vggface2Backbone(numpyPickle(arrays));
  assert.equal(got.size, arrays.size - 2);
  assert.deepEqual(got.get("base.layer3.5.conv3.weight")!.data, arrays.get("layer3.5.conv3.weight")!.data);
  assert.deepEqual(got.get("base.bn1.running_var")!.shape, [64]);
  assert.equal(got.has("base.layer4.0.conv1.weight"), false);
});

Deno.test({
  name: "cleanup build temp dir",
  fn: () => Deno.removeSync(tmp, { recursive: true }),
});
