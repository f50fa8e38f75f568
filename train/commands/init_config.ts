/** `deno task train init-config`: prints the paper's recipe as an editable JSON config. */
import { exampleConfig } from "../config.ts";
import { type Command, parseCommandArgs, printJson } from "./args.ts";

export const initConfigCommand: Command = {
  summary: "print the paper's recipe as an editable JSON config (> train.json)",
  help: `deno task train init-config > train.json
Prints the paper's defaults with an example mix (Aff-Wild2 <= 50k/class + AffectNet + ExpW). Edit the roots.`,
  run(args) {
    parseCommandArgs(args, {});
    printJson({ ...exampleConfig() });
  },
};
