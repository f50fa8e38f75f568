/** `deno task train card`: writes a Markdown model card from the recipe, eval metrics and the manifest. */
import { basename } from "node:path";
import { parseManifest } from "../../model/manifest.ts";
import { loadConfig } from "../config.ts";
import { mixDatasets } from "../data/mix.ts";
import { readDataset } from "../data/read.ts";
import { renderModelCard } from "../model_card.ts";
import { type Command, mustExist, need, parseCommandArgs, printJson } from "./args.ts";

const OPTIONS = {
  config: { type: "string" },
  out: { type: "string" },
  metrics: { type: "string", multiple: true },
  manifest: { type: "string" },
  history: { type: "string" },
  "no-data": { type: "boolean" },
} as const;

export const cardCommand: Command = {
  summary: "write a Markdown model card",
  help:
    `deno task train card --config train.json --out MODEL_CARD.md [--metrics metrics.json ...] [--manifest M]
  --metrics FILE     metrics.json from eval (repeat the flag, or comma-separate, for several)
  --manifest FILE    the exported model's manifest (id, trained flag, checksum)
  --history FILE     history.json from fit (per-epoch validation scores, the selected epoch)
  --no-data          do not read the datasets for per-class counts`,
  async run(args) {
    const { values } = parseCommandArgs(args, OPTIONS);
    const configPath = need(values.config, "config");
    const outFile = need(values.out, "out");
    await mustExist(configPath, "config");
    const config = await loadConfig(configPath);
    const metrics = [];
    for (const f of (values.metrics ?? []).flatMap((m) => m.split(","))) {
      await mustExist(f, "metrics file");
      metrics.push(JSON.parse(await Deno.readTextFile(f)));
    }
    let manifest;
    if (values.manifest !== undefined) {
      await mustExist(values.manifest, "manifest");
      manifest = parseManifest(JSON.parse(await Deno.readTextFile(values.manifest)), values.manifest);
    }
    let history;
    if (values.history !== undefined) {
      await mustExist(values.history, "history");
      history = JSON.parse(await Deno.readTextFile(values.history));
      // history.json before selection was a bare list of epochs.
      if (Array.isArray(history)) history = { epochs: history };
    }
    let data;
    if (!values["no-data"] && config.datasets.length) {
      const parts = [];
      for (const d of config.datasets) {
        parts.push({
          name: `${d.reader} ${basename(d.root)}${d.split ? `:${d.split}` : ""}`,
          samples: (await readDataset(d, { labels: config.labels })).samples,
          maxPerClass: d.maxPerClass,
        });
      }
      data = mixDatasets(parts, { seed: config.seed, numClasses: config.labels.length }).report;
    }
    await Deno.writeTextFile(outFile, renderModelCard({ config, data, metrics, manifest, history }));
    printJson({
      card: outFile,
      datasets: data?.map((d) => ({ name: d.name, samples: d.after.reduce((a, b) => a + b, 0) })),
    });
  },
};
