/**
 * The OpenAPI document and typed client: the committed files match what the code generates (drift), the document
 * is valid OpenAPI 3.1 per a real validator, and the client served at /v1/client.ts imports and works from a
 * separate Deno process over HTTP.
 */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { generateDocumentText, generateTypesText } from "../../openapi/generate.ts";
import { bundleClient, clientModule } from "../../openapi/bundle.ts";
import { createApp } from "../../routes/app.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";
import { createMetrics } from "../../src/metrics.ts";
import { loadRegistry } from "../../src/registry.ts";
import { writeTinyModel } from "./fixtures.ts";
import { type components, createClient } from "../../openapi/client.ts";

const root = new URL("../../", import.meta.url);

Deno.test("openapi/openapi.json and schema.d.ts match the code (run `deno task openapi` after API changes)", async () => {
  const doc = generateDocumentText();
  assert.equal(await Deno.readTextFile(new URL("openapi/openapi.json", root)), doc);
  assert.equal(await Deno.readTextFile(new URL("openapi/schema.d.ts", root)), await generateTypesText(doc));
});

Deno.test("the document validates as OpenAPI 3.1 and names every endpoint", async () => {
  const doc = JSON.parse(generateDocumentText());
  const validator = new Validator();
  const result = await validator.validate(doc);
  assert.equal(validator.version, "3.1");
  assert.equal(result.valid, true, JSON.stringify(result.errors));
  for (
    const p of [
      "/v1/expressions",
      "/v1/videos/frames",
      "/v1/models",
      "/v1/models/{id}",
      "/healthz",
      "/readyz",
      "/v2/health/live",
      "/v2/health/ready",
      "/v2/models/{id}",
      "/v2/models/{id}/ready",
      "/v2/models/{id}/infer",
    ]
  ) assert.ok(doc.paths[p], p);
  const body = doc.paths["/v1/expressions"].post.requestBody;
  assert.equal(body.required, true);
  assert.deepEqual(Object.keys(body.content).sort(), [
    "application/json",
    "application/octet-stream",
    "image/*",
    "multipart/form-data",
  ]);
  for (
    const name of [
      "Problem",
      "FaceResult",
      "ExpressionResponse",
      "VideoResponse",
      "TrackSummary",
      "ModelInfo",
    ]
  ) {
    assert.ok(doc.components.schemas[name], name);
  }
});

Deno.test("the typed client rejects wrong JSON option types and types always-present fields as required", () => {
  const api = createClient("http://127.0.0.1:9");
  // Never called: this test is checked by the compiler (an unused @ts-expect-error fails `deno test`).
  const typed = (face: components["schemas"]["FaceResult"]) => {
    // @ts-expect-error maxFaces is a number in a JSON body (binary bodies are Blob, so no other shape matches)
    void api.POST("/v1/expressions", { body: { image: "AAAA", maxFaces: "x" } });
    void api.POST("/v1/expressions", {
      body: { image: "AAAA", maxFaces: 3, detector: "tiny", landmarks: true },
    });
    const t: components["schemas"]["Timings"] = {
      decodeMs: 0,
      detectMs: 0,
      classifyMs: 0,
      framesWaitMs: 0,
      queueMs: 0,
      inferenceMs: 0,
      totalMs: 0,
    };
    // points5 and points68 are always present in a landmarks object.
    return [face.landmarks?.points5.length, face.landmarks?.points68.length, t.totalMs];
  };
  assert.equal(typeof typed, "function");
  const doc = JSON.parse(generateDocumentText());
  assert.deepEqual(doc.components.schemas.Landmarks.required, ["points68", "points5"]);
  assert.deepEqual(doc.servers, [{ url: "/" }]);
  // The limits the server enforces are in the document (query and JSON body alike).
  const params = doc.paths["/v1/expressions"].post.parameters as { name: string; schema: object }[];
  const body = doc.components.schemas.ExpressionJsonRequest.properties;
  assert.deepEqual({ ...params.find((p) => p.name === "minConfidence")!.schema, description: undefined }, {
    type: "number",
    minimum: 0,
    maximum: 1,
    default: 0.5,
    description: undefined,
  });
  // Request bodies are input types: the limits hold, the default is in words (a `default` would make
  // generators type the field as always present).
  assert.deepEqual({ ...body.minConfidence, description: undefined }, {
    type: "number",
    minimum: 0,
    maximum: 1,
    description: undefined,
  });
  assert.match(body.minConfidence.description, /default 0\.5/);
  assert.equal(body.minFaceSize.minimum, 0);
  assert.equal(body.minFaceSize.default, undefined);
});

Deno.test("bundleClient() inlines the types and pins openapi-fetch by npm: specifier", () => {
  const out = bundleClient(
    'import createFetchClient from "openapi-fetch";\nimport type { paths } from "./schema.d.ts";\n' +
      'export type { paths } from "./schema.d.ts";\nexport const x = 1;\n',
    "export interface paths { a: 1 }\n",
    "npm:openapi-fetch@0.17.0",
  );
  assert.match(out, /import createFetchClient from "npm:openapi-fetch@0\.17\.0";/);
  assert.doesNotMatch(out, /schema\.d\.ts"/);
  assert.match(out, /export interface paths \{ a: 1 \}/);
  assert.match(clientModule(), /export function createClient\(/);
});

Deno.test("GET /v1/client.ts is importable by another Deno process and calls the API", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fer-client-" });
  await writeTinyModel(dir, { id: "tiny" });
  const quiet = createLogger({ level: "error" });
  const registry = await loadRegistry({ modelDir: dir, logger: quiet });
  const app = createApp({
    config: loadConfig({ MODEL_DIR: dir, API_KEYS: "k" }),
    state: { registry, draining: false, inFlight: 0 },
    logger: quiet,
    metrics: createMetrics(),
  });
  const srv = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
  const base = `http://127.0.0.1:${srv.addr.port}`;
  const script = `${dir}/use_client.ts`;
  await Deno.writeTextFile(
    script,
    `import { createClient } from "${base}/v1/client.ts";\n` +
      `const api = createClient("${base}", { apiKey: "k" });\n` +
      `const { data, error } = await api.GET("/v1/models");\n` +
      `if (error) throw new Error(JSON.stringify(error));\n` +
      `console.log(JSON.stringify({ ids: data.models.map((m) => m.id) }));\n`,
  );
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-config",
        "--no-lock",
        `--allow-import=127.0.0.1:${srv.addr.port}`,
        "--allow-net",
        script,
      ],
      cwd: dir,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(JSON.parse(stdout.trim().split("\n").pop()!), { ids: ["tiny"] });
  } finally {
    await srv.shutdown();
    await registry.close();
    await Deno.remove(dir, { recursive: true });
  }
});
