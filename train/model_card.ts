/**
 * Writes a Markdown model card for a trained (or untrained) SCAN+CCI model: what data it saw (per-class counts
 * after mixing), the recipe, measured metrics per class, intended use, limitations and the licences of the
 * research-only datasets. Every number in the card comes from its inputs; nothing is filled in by hand.
 */
import type { Manifest } from "../model/manifest.ts";
import { INTENDED_USE } from "../model/spec.ts";
import type { TrainConfig } from "./config.ts";
import type { MixReport } from "./data/mix.ts";
import type { EvalMetrics } from "./metrics.ts";
import type { BestRecord, EpochRecord } from "./checkpoint.ts";

/** What `fit` wrote to history.json that a card shows: the epochs, the best one and whether it stopped early. */
export interface TrainingHistory {
  selectBy?: string;
  best?: BestRecord | null;
  stoppedEarly?: boolean;
  epochs: EpochRecord[];
}

/** Everything a card can show; each part is optional and its section says so when missing. */
export interface ModelCardInput {
  config: TrainConfig;
  /** Per-dataset class counts before and after capping (train/data/mix.ts). */
  data?: MixReport[];
  /** Evaluation results, e.g. `metrics.json` files written by `eval`. */
  metrics?: (EvalMetrics & { dataset?: string; split?: string })[];
  /** The exported model's manifest (id, trained flag, checksum, size). */
  manifest?: Manifest;
  /** history.json of the run (per-epoch validation scores and the selected epoch). */
  history?: TrainingHistory;
}

/** Licence notes per reader; the datasets are research-only and the card must say so. */
const LICENCES: Record<string, string> = {
  affwild2: "Aff-Wild2 (ABAW): research use only under the organisers' EULA; no redistribution of frames.",
  affectnet:
    "AffectNet: academic, non-commercial research licence agreement; images may not be redistributed.",
  rafdb: "RAF-DB: non-commercial research use under its release agreement.",
  expw: "ExpW: released for research purposes only.",
  fer2013: "FER2013 (ICML 2013 challenge data): research use; images scraped from the web, check terms.",
  folder: "Folder datasets: licence of the user's own images (not known to this tool).",
  prepared: "Prepared crops inherit the licence of the dataset they were cut from.",
};

const pct = (v: number) => (v * 100).toFixed(1) + "%";
const num = (v: number) => v.toFixed(3);

function table(head: string[], rows: (string | number)[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** Renders the card as Markdown. */
export function renderModelCard({ config, data, metrics = [], manifest, history }: ModelCardInput): string {
  const labels = config.labels;
  const out: string[] = [];
  out.push(`# Model card: ${manifest?.id ?? "SCAN+CCI expression classifier"}`, "");
  if (!manifest || !manifest.trained) {
    out.push(
      "> **Not a trained expression model.** " +
        (manifest
          ? "The manifest says `trained: false` (random or synthetic-data weights); "
          : "No manifest given; ") +
        "its outputs carry no information about faces.",
      "",
    );
  }
  out.push("## Model", "");
  out.push(
    "SCAN+CCI (spatio-channel attention + complementary context information) on a ResNet-50 backbone, after " +
      "Gera & Balasubramanian, ABAW 2020. Input: 224x224 RGB aligned face, `x = (u8/255 - 0.5)/0.5`, NCHW. " +
      `Output: ${labels.length} expression classes (${labels.join(", ")}).`,
    "",
  );
  if (manifest) {
    out.push(
      table(["field", "value"], [
        ["id", manifest.id],
        ["file", `${manifest.file} (${manifest.bytes} bytes, sha256 ${manifest.sha256.slice(0, 16)}...)`],
        ["precision", manifest.precision],
        ["parameters", manifest.parameters],
        ["trained", String(manifest.trained)],
        ["provenance", `${manifest.provenance.source} (${manifest.provenance.tool})`],
      ]),
      "",
    );
  }
  out.push("## Intended use", "", INTENDED_USE, "");
  out.push("## Training data", "");
  if (config.datasets.length === 0) out.push("No datasets configured.", "");
  else {
    out.push(
      table(
        ["reader", "root", "split", "cap per class"],
        config.datasets.map((
          d,
        ) => [d.reader, `\`${d.root}\``, d.split ?? "(default)", d.maxPerClass ?? "all"]),
      ),
      "",
    );
  }
  if (data?.length) {
    out.push("Samples per class after capping (before capping in parentheses):", "");
    const rows = data.map((
      d,
    ) => [d.name, ...d.after.map((a, i) => (a === d.before[i] ? `${a}` : `${a} (${d.before[i]})`))]);
    const total = labels.map((_, i) => data.reduce((s, d) => s + d.after[i], 0));
    rows.push(["**total**", ...total.map((t) => `**${t}**`)]);
    out.push(table(["dataset", ...labels], rows), "");
  } else out.push("Per-class counts were not computed for this card.", "");
  out.push(
    `Sampler: ${config.sampler}${
      config.sampler === "imbalanced" ? " (weights 1/class count, with replacement)" : ""
    }.`,
    "",
  );
  out.push("## Training recipe", "");
  const o = config.optimizer, j = config.augment.colorJitter;
  out.push(
    table(["setting", "value"], [
      [
        "optimizer",
        o.type === "sgd"
          ? `SGD, momentum ${o.momentum}, weight decay ${o.weightDecay}`
          : `AdamW, betas (${o.momentum}, 0.999), decoupled weight decay ${o.weightDecay}`,
      ],
      ["learning rate", `backbone ${o.lrBackbone}, SCAN/CCI ${o.lrHeads}, x${o.lrDecay} per epoch`],
      ["epochs x batch", `${config.epochs} x ${config.batchSize}`],
      ["loss", `${config.loss.attention} * CE(attention) + ${config.loss.regions} * sum of 4 region CEs`],
      [
        "augmentation",
        `flip p=${config.augment.horizontalFlip}; jitter b=${j.brightness} c=${j.contrast} s=${j.saturation} h=${j.hue}`,
      ],
      [
        "backbone init",
        config.backbone.init + (config.backbone.path ? ` (\`${config.backbone.path}\`)` : ""),
      ],
      ["width divisor", String(config.model.widthDivisor)],
      ["seed", String(config.seed)],
    ]),
    "",
  );
  out.push("## Training history and selection", "");
  if (!history || history.epochs.length === 0) out.push("No training history was given.", "");
  else {
    const b = history.best;
    out.push(
      (b
        ? `Selected checkpoint: epoch ${b.epoch} of ${history.epochs.length}, best validation ${b.metric} ` +
          `${num(b.value)}.`
        : "No validation split: the last epoch is the model.") +
        (history.stoppedEarly ? ` Early stopping ended the run (patience ${config.patience}).` : ""),
      "",
    );
    const v = (x: number | undefined, f: (n: number) => string) => (x === undefined ? "-" : f(x));
    out.push(
      table(
        ["epoch", "train loss", "val loss", "val accuracy", "val macro F1", "val ABAW2020"],
        history.epochs.map((e) => [
          b?.epoch === e.epoch ? `**${e.epoch}** (selected)` : e.epoch,
          num(e.loss),
          v(e.validation?.loss, num),
          v(e.validation?.accuracy, pct),
          v(e.validation?.f1_macro, num),
          v(e.validation?.abaw2020, num),
        ]),
      ),
      "",
    );
  }
  out.push("## Evaluation", "");
  if (metrics.length === 0) out.push("No evaluation results were given; the model is unmeasured.", "");
  for (const m of metrics) {
    out.push(`### ${m.dataset || "dataset"} ${m.split || ""} (${m.samples} frames)`.trimEnd(), "");
    out.push(
      `Accuracy ${pct(m.accuracy)}, macro F1 ${num(m.f1_macro)}, ABAW2020 score ${num(m.abaw2020)} ` +
        "(0.67 F1 + 0.33 accuracy; F1 of a class never predicted or absent counts as 0).",
      "",
    );
    out.push(
      table(
        ["class", "precision", "recall", "F1", "support"],
        m.labels.map((l) => {
          const c = m.per_class[l];
          return [l, num(c.precision), num(c.recall), num(c.f1), c.support];
        }),
      ),
      "",
    );
  }
  out.push("## Limitations", "");
  out.push(
    "- It classifies the visible configuration of a face into a few categories; it does not read feelings, " +
      "intent, honesty or personality.",
    "- Training datasets are web and video collections with skewed demographics, poses and annotator cultures; " +
      "accuracy differs between groups and was not measured per group here.",
    "- Aff-Wild2 labels are per frame from video; single images, extreme poses, occlusion, low light and faces " +
      "smaller than about 40 px are harder. Rare classes (fear, disgust) have the lowest scores.",
    "- Faces are detected and aligned by the project's face pipeline; a missed or misaligned face gives a wrong " +
      "or no answer.",
    "",
  );
  out.push("## Licences", "");
  const readers = new Set<string>(config.datasets.map((d) => d.reader));
  // Prepared crops and folders can come from any of the research datasets, so all of them are listed.
  out.push(
    ...Object.entries(LICENCES).map(([r, text]) => `- ${text}${readers.has(r) ? " (configured)" : ""}`),
    "- Backbone weights: VGGFace2 ResNet-50 release, research use; check its terms before commercial use.",
    "",
    "Weights trained on these datasets may carry their research-only terms; do not deploy commercially " +
      "without checking every licence.",
    "",
  );
  return out.join("\n");
}
