/**
 * Builds the SCAN+CCI artifact: `<DIR>/<id>.onnx` + `<DIR>/<id>.manifest.json` (id "scan-cci" by default).
 *
 *   deno task model:build --weights FILE.safetensors --labels affectnet|affwild2 [--fp16] [--width K] --out DIR
 *   deno task model:build --random-seed N [--backbone resnet50_ft_weight.pkl] --labels affwild2 --out DIR
 *
 * `--weights` reads the reference state_dicts in the `base.`/`attention.`/`region.` safetensors layout; the
 * labels option names the order the weights were trained in (the authors trained in AffectNet order).
 * `--random-seed` builds the reference's PyTorch initialisation (untrained: `trained: false`), optionally on the
 * VGGFace2 backbone. The library functions `buildScanCci` and `writeArtifact` are what the trainer's exporter
 * calls. Files are written via temporary names and renames; on any error nothing is written.
 */
import { parseArgs } from "node:util";
import { basename, join } from "node:path";
import { type Manifest, type Metrics, parseManifest, sha256Hex } from "./manifest.ts";
import { scanCciModel } from "./scan_cci/model.ts";
import { countTrainable, scanCciParamSpecs, type TensorData } from "./scan_cci/params.ts";
import { randomScanCci } from "./scan_cci/random.ts";
import { INTENDED_USE, LABEL_ORDERS, SCAN_CCI_INPUT } from "./spec.ts";
import { weightsTrained } from "./weights/provenance.ts";
import { readSafetensors, readSafetensorsMetadata } from "./weights/safetensors.ts";
import { vggface2Backbone } from "./weights/vggface2.ts";

const TOOL = "scan-fer model/build.ts";
const LICENSE_TRAINED =
  "Code: scan-fer (ours). Weights: trained on research-only datasets (e.g. AffectNet, " +
  "Aff-Wild2, VGGFace2); they carry those datasets' licences (typically non-commercial research use only).";
const LICENSE_RANDOM =
  "Code: scan-fer (ours). Expression heads are random initialisation (no training data)." +
  " A VGGFace2 backbone, if used, carries the VGGFace2 licence (non-commercial research use).";

/** What `buildScanCci` needs: weights (reference names), the native label order, and provenance. */
export interface BuildScanCciOptions {
  tensors: Map<string, TensorData>;
  /** Native label order of the weights, e.g. "affectnet" or "affwild2", or explicit canonical names. */
  labels: keyof typeof LABEL_ORDERS | readonly string[];
  fp16?: boolean;
  width?: number;
  id?: string;
  source: string;
  trained: boolean;
  weightsSha256?: string;
  seed?: number;
  metrics?: Metrics[];
}

/**
 * Builds the ONNX bytes and a validated manifest (labels in output order, input spec, outputs, sha256, bytes,
 * trainable parameter count, GFLOPs counted from the graph's Conv/MatMul/Gemm, provenance, licence note).
 * Throws one error listing every weight problem; returns nothing partial.
 */
export async function buildScanCci(
  {
    tensors,
    labels,
    fp16 = false,
    width,
    id = "scan-cci",
    source,
    trained,
    weightsSha256,
    seed,
    metrics = [],
  }: BuildScanCciOptions,
): Promise<{ onnx: Uint8Array; manifest: Manifest }> {
  const labelOrder = typeof labels === "string" ? labels : undefined;
  const names = typeof labels === "string" ? LABEL_ORDERS[labels] : labels;
  if (!names) {
    throw new Error(
      `Cannot build SCAN+CCI: unknown label order "${labels}" (use ${Object.keys(LABEL_ORDERS).join(", ")})`,
    );
  }
  const built = scanCciModel(tensors, {
    fp16,
    width,
    classes: names.length,
    metadata: { id, labels: names.join(","), ...(labelOrder ? { labelOrder } : {}) },
  });
  const manifest = parseManifest({
    schemaVersion: 1,
    id,
    task: "expression",
    architecture: {
      name: "SCAN+CCI",
      version: "1",
      details: {
        backbone: "ResNet-50 (Bottleneck v1.5) conv1..layer3",
        width: built.width,
        localPatches: 25,
        cciRegions: 4,
        heads: ["attention", "region_tl", "region_tr", "region_bl", "region_br"],
        io: "float32 (fp16 models cast inside the graph)",
        paper: "Gera & Balasubramanian, ABAW 2020, arXiv:2007.10298",
      },
    },
    file: `${id}.onnx`,
    sha256: await sha256Hex(built.bytes),
    bytes: built.bytes.length,
    opset: 17,
    precision: fp16 ? "fp16" : "fp32",
    labels: [...names],
    labelOrder,
    input: {
      name: SCAN_CCI_INPUT.name,
      shape: ["N", 3, SCAN_CCI_INPUT.size, SCAN_CCI_INPUT.size],
      dtype: "float32",
      layout: SCAN_CCI_INPUT.layout,
      channelOrder: SCAN_CCI_INPUT.channelOrder,
      size: { width: SCAN_CCI_INPUT.size, height: SCAN_CCI_INPUT.size },
      scale: SCAN_CCI_INPUT.scale,
      mean: [...SCAN_CCI_INPUT.mean],
      std: [...SCAN_CCI_INPUT.std],
      resize: "fill",
    },
    outputs: [
      {
        name: "logits",
        shape: ["N", names.length],
        dtype: "float32",
        description: "mean of the 5 head logits",
      },
      {
        name: "head_logits",
        shape: ["N", 5, names.length],
        dtype: "float32",
        description: "attention, region TL, TR, BL, BR logits",
      },
      {
        name: "attention_map",
        shape: ["N", 28, 28],
        dtype: "float32",
        description: "channel mean of the global SCAN weights (sigmoid, 0..1) over the 28x28 layer2 grid",
      },
    ],
    parameters: countTrainable(scanCciParamSpecs({ width: built.width, classes: names.length })),
    gflops: Math.round(built.flopsPerImage / 1e6) / 1e3,
    trained,
    provenance: { source, weightsSha256, seed, tool: TOOL },
    metrics,
    license: trained ? LICENSE_TRAINED : LICENSE_RANDOM,
    intendedUse: INTENDED_USE,
  }, `${id}.manifest.json`);
  return { onnx: built.bytes, manifest };
}

/**
 * Writes `<dir>/<manifest.file>` and `<dir>/<id>.manifest.json` via temporary files and renames (manifest
 * last), so a reader never sees a half-written pair. Returns both paths.
 */
export async function writeArtifact(
  dir: string,
  { onnx, manifest }: { onnx: Uint8Array; manifest: Manifest },
): Promise<{ onnxPath: string; manifestPath: string }> {
  await Deno.mkdir(dir, { recursive: true });
  const onnxPath = join(dir, manifest.file);
  const manifestPath = join(dir, `${manifest.id}.manifest.json`);
  const tmp = `.tmp-${crypto.randomUUID()}`;
  try {
    await Deno.writeFile(`${onnxPath}${tmp}`, onnx);
    await Deno.writeTextFile(`${manifestPath}${tmp}`, JSON.stringify(manifest, null, 2) + "\n");
    await Deno.rename(`${onnxPath}${tmp}`, onnxPath);
    await Deno.rename(`${manifestPath}${tmp}`, manifestPath);
  } finally {
    for (const p of [`${onnxPath}${tmp}`, `${manifestPath}${tmp}`]) await Deno.remove(p).catch(() => {});
  }
  return { onnxPath, manifestPath };
}

const USAGE = "Usage: deno task model:build (--weights FILE.safetensors [--trained | --untrained] |\n" +
  "                              --random-seed N [--backbone FILE.pkl])\n" +
  "         --labels affectnet|affwild2 [--fp16] [--width K] [--id NAME] --out DIR\n" +
  "  --weights FILE    reference state_dicts in the base./attention./region. safetensors layout; the manifest\n" +
  '                    says trained: true unless the file\'s __metadata__ says trained "false" (our test and\n' +
  "                    random-init writers do); --trained / --untrained override that\n" +
  "  --random-seed N   reference PyTorch initialisation instead (trained: false), optionally on the VGGFace2\n" +
  "                    backbone (--backbone resnet50_ft_weight.pkl, full width only)\n" +
  "  --labels ORDER    the label order the weights were trained in (the authors': affectnet)\n" +
  "  --fp16            half-precision weights (GPU serving)\n" +
  "  --width K         channels / K (tiny test models; K divides 64); inferred from --weights\n" +
  "  --id NAME         model id and file name (default scan-cci)\n" +
  "  --out DIR         where <id>.onnx and <id>.manifest.json go\n" +
  "Exit codes: 0 written (or --help), 1 bad weight file content, 2 usage error or unreadable input file.";

/** A mistake in how the command was called, or an input file it cannot open: exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

function usage(message: string): never {
  throw new UsageError(`Cannot build model: ${message}\n${USAGE}`);
}

/** Reads an input file named on the command line; a missing or unreadable one is a UsageError naming it. */
async function readInput(what: string, path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    const reason = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.IsADirectory || (e as { code?: string }).code === "EISDIR"
      ? "it is a folder, expected a file"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (e as Error).message;
    throw new UsageError(`Cannot read ${what} "${path}": ${reason}`);
  }
}

function toTensorMap(m: Map<string, { shape: number[]; data: Float32Array }>): Map<string, TensorData> {
  return new Map([...m].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
}

/**
 * The CLI's work: parses arguments, builds, writes; returns the written paths. Throws {@link UsageError} for
 * usage mistakes and unreadable input files, other errors for bad weight content. `--help` is handled by
 * {@link cli}.
 */
export async function main(
  args: string[],
): Promise<{ onnxPath: string; manifestPath: string; manifest: Manifest }> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        weights: { type: "string" },
        "random-seed": { type: "string" },
        backbone: { type: "string" },
        labels: { type: "string" },
        fp16: { type: "boolean", default: false },
        width: { type: "string" },
        id: { type: "string" },
        out: { type: "string" },
        trained: { type: "boolean" },
        untrained: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  if ((values.weights === undefined) === (values["random-seed"] === undefined)) {
    usage("give exactly one of --weights FILE or --random-seed N");
  }
  if (values.weights === "") usage("--weights needs a file name");
  if (values.labels === undefined) usage("--labels is required: affectnet or affwild2");
  if (!["affectnet", "affwild2"].includes(values.labels)) {
    usage(`--labels must be affectnet or affwild2, got ${JSON.stringify(values.labels)}`);
  }
  if (!values.out) usage("--out DIR is required");
  if (values.backbone !== undefined && values.weights !== undefined) {
    usage("--backbone combines with --random-seed, not with --weights");
  }
  if (values.backbone === "") usage("--backbone needs a file name");
  if (values.trained && values.untrained) usage("give at most one of --trained and --untrained");
  if ((values.trained || values.untrained) && values.weights === undefined) {
    usage("--trained / --untrained apply to --weights (a --random-seed model is always untrained)");
  }
  if (values.id !== undefined && !/^[a-z0-9][a-z0-9._-]*$/.test(values.id)) {
    usage(`--id must be lower-case letters, digits, ".", "_" or "-", got ${JSON.stringify(values.id)}`);
  }
  const width = values.width === undefined ? undefined : Number(values.width);
  if (width !== undefined && !(/^\d+$/.test(values.width!) && width >= 1 && 64 % width === 0)) {
    usage(`--width must be an integer dividing 64, got "${values.width}"`);
  }
  if (values.backbone && (width ?? 1) !== 1) usage("--backbone needs the full-width model (--width 1)");
  const seedText = values["random-seed"];
  const seed = seedText === undefined ? undefined : Number(seedText);
  if (seed !== undefined && !(/^\d+$/.test(seedText!) && seed < 2 ** 32)) {
    usage(`--random-seed must be an integer in [0, 2^32), got "${seedText}"`);
  }
  const labels = values.labels as "affectnet" | "affwild2";
  let built;
  if (values.weights) {
    const bytes = await readInput("weights", values.weights);
    const tensors = toTensorMap(readSafetensors(bytes));
    const override = values.trained ? true : values.untrained ? false : undefined;
    const decision = weightsTrained(readSafetensorsMetadata(bytes), { override, file: values.weights });
    built = await buildScanCci({
      tensors,
      labels,
      fp16: values.fp16,
      width,
      id: values.id,
      source: `safetensors:${basename(values.weights)}${decision.source ? ` (${decision.source})` : ""}`,
      trained: decision.trained,
      weightsSha256: await sha256Hex(bytes),
    });
  } else {
    // Read the backbone before the (full-width: slow) random init, so a wrong path fails at once.
    const backbone = values.backbone ? await readInput("backbone", values.backbone) : undefined;
    const tensors = randomScanCci({ seed, width: width ?? 1, classes: LABEL_ORDERS[labels].length });
    let source = "random-init:pytorch-defaults";
    let weightsSha256: string | undefined;
    if (values.backbone && backbone) {
      const bytes = backbone;
      for (const [k, v] of vggface2Backbone(bytes)) tensors.set(k, v);
      source = `vggface2-backbone:${basename(values.backbone)}+random-heads`;
      weightsSha256 = await sha256Hex(bytes);
    }
    built = await buildScanCci({
      tensors,
      labels,
      fp16: values.fp16,
      width,
      id: values.id,
      source,
      trained: false,
      weightsSha256,
      seed,
    });
  }
  const paths = await writeArtifact(values.out, built);
  return { ...paths, manifest: built.manifest };
}

/**
 * `deno task model:build`: runs {@link main} and returns the exit code: 0 written (or `--help`/`-h`, which
 * prints the usage), 2 usage error or unreadable input file, 1 anything else (bad weight content, write
 * failure). Prints one summary line or the error message, never a stack trace.
 */
export async function cli(
  args: string[],
  { log = console.log, error = console.error }: {
    log?: (s: string) => void;
    error?: (s: string) => void;
  } = {},
): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    log(USAGE);
    return 0;
  }
  try {
    const { onnxPath, manifestPath, manifest } = await main(args);
    log(
      `Wrote ${onnxPath} (${(manifest.bytes / 1e6).toFixed(1)} MB, ${manifest.precision}, ` +
        `${manifest.gflops} GFLOPs, ${manifest.parameters} parameters, trained: ${manifest.trained}) and ` +
        manifestPath,
    );
    return 0;
  } catch (e) {
    error((e as Error).message);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await cli(Deno.args));
