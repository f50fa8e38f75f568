/**
 * Startup checks of the server process: every model a request can route to (each detector, `tiny` included,
 * the landmark net, each expression model) loads and warms before ready; a broken or missing one, or two
 * manifests with one id, stop the start with exit code 2 and a message naming the file(s). Each case is a
 * subprocess on loopback that exits by itself.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { serverCommand, withFaceModels, writeTinyModel } from "./fixtures.ts";

async function start(dir: string): Promise<{ code: number; text: string }> {
  const out = await serverCommand({ MODEL_DIR: dir, LOG_LEVEL: "info" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

async function modelDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "fer-startup-" });
  await writeTinyModel(dir, { id: "tiny" });
  await withFaceModels(dir);
  return dir;
}

Deno.test("a truncated tiny detector stops the start (exit 2, the file named), never a ready server", async () => {
  const dir = await modelDir();
  try {
    const onnx = join(dir, "face-detector-tiny.onnx");
    const bytes = await Deno.readFile(onnx);
    await Deno.remove(onnx); // a link into artifacts/models: replace it, never write through it
    await Deno.writeFile(onnx, bytes.subarray(0, bytes.length >> 1));
    const { code, text } = await start(dir);
    assert.equal(code, 2, text);
    assert.match(text, /face-detector-tiny/);
    assert.doesNotMatch(text, /"msg":"ready"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing tiny detector stops the start before listening (exit 2, the file named)", async () => {
  const dir = await modelDir();
  try {
    await Deno.remove(join(dir, "face-detector-tiny.onnx"));
    const { code, text } = await start(dir);
    assert.equal(code, 2, text);
    assert.match(text, /face-detector-tiny\.onnx/);
    assert.doesNotMatch(text, /"msg":"listening"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two manifests with one model id stop the start (exit 2), naming both files", async () => {
  const dir = await modelDir();
  try {
    await Deno.copyFile(join(dir, "tiny.manifest.json"), join(dir, "tiny-copy.manifest.json"));
    const { code, text } = await start(dir);
    assert.equal(code, 2, text);
    assert.match(
      text,
      /model id "tiny" is declared by both \S*tiny-copy\.manifest\.json and \S*tiny\.manifest\.json/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a broken expression model stops the start (exit 2), naming its id and manifest", async () => {
  const dir = await modelDir();
  try {
    await Deno.writeFile(join(dir, "tiny.onnx"), new Uint8Array(100));
    const { code, text } = await start(dir);
    assert.equal(code, 2, text);
    assert.match(text, /model "tiny" \(\S*tiny\.manifest\.json\) does not load/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
