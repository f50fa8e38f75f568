/**
 * The client served at GET /v1/client.ts, used as its types say by a user's script in another Deno process: every
 * operation of the document, the inference routes in each body form (multipart `{ image: Blob }` and
 * `{ frames: Blob[], timestamps }`, a raw Blob or Uint8Array, JSON), with no serializer and no cast; the script is
 * type-checked (`deno check`) before it runs against the real server on loopback.
 */
import assert from "node:assert/strict";
import { ENDPOINTS } from "../../routes/app.ts";
import { demoPhoto, solidPng } from "./fixtures.ts";
import { checkAndRun, withApiServer } from "./user_script.ts";
import { makeVideo, SKIP_WITHOUT_FFMPEG } from "../fixtures/videos.ts";

const KEY = "client-key";

/** The user's script: one call per operation and body form; prints each call's status and a fact of its answer. */
function userScript(base: string, photoPath: string, cropPath: string, clipPath: string): string {
  return `import { createClient } from "${base}/v1/client.ts";

const api = createClient("${base}", { apiKey: "${KEY}" });
const photo = new Blob([await Deno.readFile(${JSON.stringify(photoPath)})], { type: "image/jpeg" });
const crop = await Deno.readFile(${JSON.stringify(cropPath)}); // a Uint8Array
const base64 = btoa(String.fromCharCode(...crop));
const out: Record<string, unknown> = {};

const health = await api.GET("/healthz");
out.healthz = health.data?.status;
const ready = await api.GET("/readyz");
out.readyz = ready.data?.status;
out.v2Live = (await api.GET("/v2/health/live")).data?.live;
out.v2Ready = (await api.GET("/v2/health/ready")).data?.ready;
out.v2Server = (await api.GET("/v2")).data?.name;
const id = { params: { path: { id: "scan-cci" } } };
out.v2Model = (await api.GET("/v2/models/{id}", id)).data?.name;
out.v2ModelReady = (await api.GET("/v2/models/{id}/ready", id)).data?.ready;
out.models = (await api.GET("/v1/models")).data?.models.map((m) => m.id).sort();
out.model = (await api.GET("/v1/models/{id}", id)).data?.id;
out.capabilities = (await api.GET("/v1/capabilities")).data?.videoJobs.codecs.includes("h264");

const multipart = await api.POST("/v1/expressions", { body: { image: photo } });
out.multipart = multipart.data?.faces.length ?? multipart.error;
const rawBlob = await api.POST("/v1/expressions", { body: photo });
out.rawBlob = rawBlob.data?.faces.length ?? rawBlob.error;
const crops = { params: { query: { detect: false } } };
const rawBytes = await api.POST("/v1/expressions", { ...crops, body: crop });
out.rawBytes = rawBytes.data?.faces.length ?? rawBytes.error;
const json = await api.POST("/v1/expressions", { body: { image: base64, detect: false } });
out.json = json.data?.faces[0].expression.label ?? json.error;
const frames = await api.POST("/v1/videos/frames", {
  ...crops,
  body: { frames: [crop, new Blob([crop], { type: "image/png" })], timestamps: "[0, 0.5]" },
});
out.framesMultipart = frames.data?.frames.map((f) => f.timestamp) ?? frames.error;
const framesJson = await api.POST("/v1/videos/frames", {
  body: { frames: [{ image: base64, timestamp: 1 }], detect: false },
});
out.framesJson = framesJson.data?.frames.map((f) => f.faces.length) ?? framesJson.error;
const tensor = { name: "input", shape: [1, 3, 224, 224], datatype: "FP32", data: new Array(150528).fill(0) };
const infer = await api.POST("/v2/models/{id}/infer", { ...id, body: { inputs: [tensor] } });
out.v2Infer = infer.data?.outputs.map((o) => o.name) ?? infer.error;

// Whole-video jobs: a multipart upload and a raw one of the same file.
const clip = new Blob([await Deno.readFile(${JSON.stringify(clipPath)})], { type: "video/mp4" });
const fps = { params: { query: { fps: 2 } } };
const job = await api.POST("/v1/videos", { ...fps, body: { video: clip } });
const raw = await api.POST("/v1/videos", { ...fps, body: clip });
out.jobUpload = [job.response.status, raw.response.status];
const jobId = { params: { path: { id: job.data?.id ?? "none" } } };
let status = job.data?.status;
for (let i = 0; i < 300 && (status === "queued" || status === "running"); i++) {
  await new Promise((r) => setTimeout(r, 100));
  status = (await api.GET("/v1/jobs/{id}", jobId)).data?.status;
}
out.jobStatus = status;
out.jobList = (await api.GET("/v1/jobs")).data?.jobs.map((j) => j.id).includes(job.data?.id ?? "");
const results = await api.GET("/v1/jobs/{id}/results", jobId);
// The results route answers JSON, NDJSON, CSV or text by format: narrow to the JSON document.
const doc = results.data;
out.jobFrames = typeof doc === "object" && doc !== null && "frames" in doc ? doc.frames.length : results.error;
out.jobCancel = (await api.DELETE("/v1/jobs/{id}", jobId)).data?.status;
console.log(JSON.stringify(out));

// Never called: the types reject what the server would refuse (an unused @ts-expect-error fails deno check).
export function wrong() {
  // @ts-expect-error a number is not an image
  void api.POST("/v1/expressions", { body: { image: 5 } });
  // @ts-expect-error frames are files or { image } objects, not strings
  void api.POST("/v1/videos/frames", { body: { frames: ["x"] } });
}
`;
}

Deno.test({
  name: "the served client makes every call as typed: multipart, raw Blob/Uint8Array and JSON, no casts",
  ignore: SKIP_WITHOUT_FFMPEG,
}, async () => {
  await withApiServer(KEY, async ({ base, port, dir }) => {
    await Deno.writeFile(`${dir}/photo.jpg`, demoPhoto(1));
    await Deno.writeFile(`${dir}/crop.png`, await solidPng(64, 64, [200, 150, 120]));
    const clip = await makeVideo(dir, "clip.mp4", { seconds: 2, fps: 5 });
    const source = userScript(base, `${dir}/photo.jpg`, `${dir}/crop.png`, clip);
    assert.doesNotMatch(source, / as |bodySerializer|FormData/, "the script uses the client as typed");
    // Every operation of the app is in the script.
    for (const e of ENDPOINTS) assert.ok(source.includes(`"${e.route.path}"`), e.route.path);
    const out = await checkAndRun(dir, "use_client.ts", source, { port }) as Record<
      string,
      unknown
    >;
    assert.equal(out.healthz, "ok");
    assert.equal(out.readyz, "ok");
    assert.equal(out.v2Live, true);
    assert.equal(out.v2Ready, true);
    assert.equal(typeof out.v2Server, "string");
    assert.equal(out.v2Model, "scan-cci");
    assert.equal(out.v2ModelReady, true);
    assert.deepEqual(out.models, ["faceapi-expression", "scan-cci"]);
    assert.equal(out.model, "scan-cci");
    assert.equal(out.capabilities, true);
    // The same photo as a multipart file and as a raw Blob (sent with its own type, image/jpeg): same faces.
    assert.equal(typeof out.multipart, "number", JSON.stringify(out.multipart));
    assert.ok((out.multipart as number) > 0);
    assert.equal(out.rawBlob, out.multipart, JSON.stringify(out.rawBlob));
    assert.equal(out.rawBytes, 1, JSON.stringify(out.rawBytes));
    assert.equal(typeof out.json, "string", JSON.stringify(out.json));
    assert.deepEqual(out.framesMultipart, [0, 0.5]);
    assert.deepEqual(out.framesJson, [1]);
    assert.deepEqual(out.v2Infer, ["logits", "head_logits", "attention_map"]);
    assert.deepEqual(out.jobUpload, [202, 202]);
    assert.equal(out.jobStatus, "succeeded");
    assert.equal(out.jobList, true);
    assert.equal(out.jobFrames, 4); // 2 s at fps=2
    assert.equal(out.jobCancel, "succeeded"); // a finished job is left as it is
  });
});
