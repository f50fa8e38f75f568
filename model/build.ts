/**
 * Builds the SCAN+CCI artifact: `<DIR>/<id>.onnx` + `<DIR>/<id>.manifest.json` (id "scan-cci" by default).
 *
 *   deno task model:build --weights FILE.safetensors --labels affectnet|affwild2 [--fp16] [--width K] --out DIR
 *   deno task model:build --random-seed N [--backbone resnet50_ft_weight.pkl] --labels affwild2 --out DIR
 *
 * `--weights` reads the reference state_dicts in the `base.`/`attention.`/`region.` safetensors layout; the
 * labels option names the order the weights were trained in (the authors trained in AffectNet order).
 * `--random-seed` builds the reference's PyTorch initialisation (untrained: `trained: false`), optionally on the
 * VGGFace2 backbone. The work is model/scan_cci/build.ts's `buildScanCci` and model/artifact.ts's
 * `writeArtifact` (what the trainer's exporter calls too); this file parses and checks the arguments. Files are
 * written via temporary names and renames; on any error nothing is written.
 */
import { parseArgs } from "node:util";
import { writeArtifact } from "./artifact.ts";
import type { Manifest } from "./manifest.ts";
import { buildScanCci, seededScanCciWeights } from "./scan_cci/build.ts";
import { LABEL_ORDERS } from "./spec.ts";
import { readWeightsFile } from "./weights/provenance.ts";

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
  const common = { labels, fp16: values.fp16, width, id: values.id };
  let built;
  if (values.weights) {
    const bytes = await readInput("weights", values.weights);
    const override = values.trained ? true : values.untrained ? false : undefined;
    const file = await readWeightsFile(bytes, { file: values.weights, override });
    built = await buildScanCci({ ...common, ...file });
  } else {
    // Read the backbone before the (full-width: slow) random init, so a wrong path fails at once.
    const backbone = values.backbone
      ? { bytes: await readInput("backbone", values.backbone), file: values.backbone }
      : undefined;
    const classes = LABEL_ORDERS[labels].length;
    const seeded = await seededScanCciWeights({ seed, width: width ?? 1, classes, backbone });
    built = await buildScanCci({ ...common, ...seeded, trained: false, seed });
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
