import assert from "node:assert/strict";
import { ENV_VARS, loadConfig } from "../../src/config.ts";

Deno.test("loadConfig() applies the documented defaults and freezes the result", () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.host, "0.0.0.0");
  assert.equal(c.modelDir, "artifacts/models");
  assert.equal(c.maxFrames, 256);
  assert.equal(c.executionProvider, "cpu");
  assert.deepEqual(c.apiKeys, []);
  assert.ok(Object.isFrozen(c));
  // Every documented default parses, and every name is documented once.
  assert.equal(new Set(ENV_VARS.map((v) => v.name)).size, ENV_VARS.length);
  assert.ok(ENV_VARS.every((v) => v.description.length > 10));
});

Deno.test("loadConfig() parses lists and numbers", () => {
  const c = loadConfig({
    PORT: "9000",
    API_KEYS: " a, b ,,c",
    CORS_ORIGINS: "*",
    EXECUTION_PROVIDER: "cuda",
    MAX_BATCH: "8",
  });
  assert.equal(c.port, 9000);
  assert.deepEqual(c.apiKeys, ["a", "b", "c"]);
  assert.deepEqual(c.corsOrigins, ["*"]);
  assert.equal(c.executionProvider, "cuda");
  assert.equal(c.maxBatch, 8);
});

Deno.test("loadConfig() names every invalid variable and its value", () => {
  assert.throws(
    () => loadConfig({ MAX_BATCH: "zero", EXECUTION_PROVIDER: "tpu", PORT: "70000" }),
    (e: Error) =>
      e.message.startsWith("Cannot start: invalid configuration") && e.message.includes('MAX_BATCH="zero"') &&
      e.message.includes('EXECUTION_PROVIDER="tpu"') && e.message.includes('PORT="70000"'),
  );
});

Deno.test("loadConfig() refuses MAX_QUEUE below MAX_BATCH and has its own video and body deadlines", () => {
  assert.throws(
    () => loadConfig({ MAX_QUEUE: "4", MAX_BATCH: "8" }),
    /MAX_QUEUE=4 is below MAX_BATCH=8/,
  );
  assert.equal(loadConfig({ MAX_QUEUE: "8", MAX_BATCH: "8" }).maxQueue, 8);
  const c = loadConfig({});
  assert.equal(c.videoTimeoutMs, 120000);
  assert.equal(c.bodyTimeoutMs, 30000);
  assert.ok(c.videoTimeoutMs > c.requestTimeoutMs);
});

Deno.test("loadConfig(): MAX_JSON_BODY_BYTES defaults to a third of MAX_BODY_BYTES and may not exceed it", () => {
  assert.equal(loadConfig({}).maxJsonBodyBytes, Math.floor(26214400 / 3));
  assert.equal(loadConfig({ MAX_BODY_BYTES: "3000000" }).maxJsonBodyBytes, 1000000);
  assert.equal(loadConfig({ MAX_JSON_BODY_BYTES: "65536" }).maxJsonBodyBytes, 65536);
  assert.throws(
    () => loadConfig({ MAX_BODY_BYTES: "1048576", MAX_JSON_BODY_BYTES: "2097152" }),
    /MAX_JSON_BODY_BYTES=2097152 is above MAX_BODY_BYTES=1048576/,
  );
});

Deno.test("loadConfig(): MEMORY_PATTERN is off by default, on or off only", () => {
  assert.equal(loadConfig({}).memoryPattern, false);
  assert.equal(loadConfig({ MEMORY_PATTERN: "on" }).memoryPattern, true);
  assert.throws(
    () => loadConfig({ MEMORY_PATTERN: "1" }),
    (e: Error) => e.message.includes('MEMORY_PATTERN="1"'),
  );
});

Deno.test("loadConfig(): THREAD_SPINNING is off by default, on or off only", () => {
  assert.equal(loadConfig({}).threadSpinning, false);
  assert.equal(loadConfig({ THREAD_SPINNING: "on" }).threadSpinning, true);
  assert.throws(
    () => loadConfig({ THREAD_SPINNING: "yes" }),
    (e: Error) => e.message.includes('THREAD_SPINNING="yes"'),
  );
});
