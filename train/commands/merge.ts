/** `deno task train merge`: combines the shard manifests of a `prepare --out` folder. */
import { mergeShards } from "../prepare.ts";
import { type Command, mustExist, need, parseCommandArgs, printJson } from "./args.ts";

export const mergeCommand: Command = {
  summary: "combine the shard manifests of a prepare --out folder",
  help: `deno task train merge --out DIR
Merges DIR/manifest.shard-*.jsonl into DIR/manifest.jsonl (sorted by key, one line per item).`,
  async run(args) {
    const { values } = parseCommandArgs(args, { out: { type: "string" } });
    const dir = need(values.out, "out");
    await mustExist(dir, "prepare folder", "folder");
    printJson(await mergeShards(dir));
  },
};
