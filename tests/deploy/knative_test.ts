import assert from "node:assert/strict";
import { parse } from "yaml";
import { ENV_VARS, loadConfig } from "../../src/config.ts";

interface EnvEntry {
  name: string;
  value: string;
}
interface Probe {
  httpGet: { path: string };
}
interface Container {
  ports: { containerPort: number }[];
  env: EnvEntry[];
  resources: { limits: Record<string, string> };
  startupProbe: Probe;
  readinessProbe: Probe;
  livenessProbe: Probe;
}
interface KnativeService {
  apiVersion: string;
  kind: string;
  spec: {
    template: {
      metadata: { annotations: Record<string, string> };
      spec: { containerConcurrency: number; timeoutSeconds: number; containers: Container[] };
    };
  };
}

const manifest = parse(
  await Deno.readTextFile(new URL("../../deploy/knative-service.yaml", import.meta.url)),
) as KnativeService;
const template = manifest.spec.template;
const container = template.spec.containers[0];
const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));

Deno.test("knative manifest is a Knative Service with one GPU container", () => {
  assert.equal(manifest.apiVersion, "serving.knative.dev/v1");
  assert.equal(manifest.kind, "Service");
  assert.equal(template.spec.containers.length, 1);
  assert.equal(container.resources.limits["nvidia.com/gpu"], "1");
  assert.equal(template.metadata.annotations["autoscaling.knative.dev/min-scale"], "0");
});

Deno.test("knative manifest only sets environment variables the app reads, with valid values", () => {
  const known = new Set<string>(ENV_VARS.map((v) => v.name));
  for (const name of Object.keys(env)) {
    assert.ok(known.has(name), `unknown env var ${name} in deploy manifest`);
  }
  // The whole set must pass the app's own validation.
  const config = loadConfig(env);
  assert.equal(config.executionProvider, "cuda");
});

Deno.test("knative manifest matches the app's port, probes and batcher", () => {
  const config = loadConfig(env);
  assert.equal(container.ports[0].containerPort, config.port);
  assert.equal(container.startupProbe.httpGet.path, "/readyz");
  assert.equal(container.readinessProbe.httpGet.path, "/readyz");
  assert.equal(container.livenessProbe.httpGet.path, "/healthz");
  // One replica accepts as many concurrent requests as fill one micro-batch.
  assert.equal(template.spec.containerConcurrency, config.maxBatch);
  assert.equal(Number(template.metadata.annotations["autoscaling.knative.dev/target"]), config.maxBatch);
});

Deno.test("knative request timeout outlasts the app's longest deadline (VIDEO_TIMEOUT_MS)", () => {
  const config = loadConfig(env);
  // Knative cuts the connection at timeoutSeconds: the app must answer (200 or its own 504) before that.
  assert.ok(template.spec.timeoutSeconds * 1000 > config.videoTimeoutMs);
  assert.ok(template.spec.timeoutSeconds * 1000 > config.requestTimeoutMs);
  assert.ok(template.spec.timeoutSeconds * 1000 > config.bodyTimeoutMs);
});

Deno.test("Dockerfile exposes the default port, probes /readyz and starts with the README command", async () => {
  const dockerfile = await Deno.readTextFile(new URL("../../Dockerfile", import.meta.url));
  const defaults = loadConfig({});
  assert.match(dockerfile, new RegExp(`^EXPOSE ${defaults.port}$`, "m"));
  assert.match(dockerfile, /HEALTHCHECK[\s\S]*\/readyz/);
  assert.match(dockerfile, /^CMD \["deno", "task", "start"\]$/m);
  assert.match(dockerfile, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
  assert.match(dockerfile, /^USER app$/m);
  assert.match(dockerfile, /deno install --frozen/);
});
