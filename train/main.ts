/**
 * `deno task train <command>`: the trainer's command line, a dispatcher over {@link COMMANDS} (one file per
 * command in train/commands/). Exit codes are the same for every command: usage mistakes (unknown command or
 * option, missing or malformed value, a file or dataset root that does not exist) print one `error:` line and
 * exit 2; data and runtime failures (malformed file content, invalid config, training or inference errors) print
 * one line and exit 1; no stack traces either way.
 */
import { type Command, UsageError } from "./commands/args.ts";
import { cardCommand } from "./commands/card.ts";
import { evalCommand } from "./commands/eval.ts";
import { exportCommand } from "./commands/export.ts";
import { fitCommand } from "./commands/fit.ts";
import { gradcamCommand } from "./commands/gradcam.ts";
import { initConfigCommand } from "./commands/init_config.ts";
import { mergeCommand } from "./commands/merge.ts";
import { metricsCommand } from "./commands/metrics.ts";
import { prepareCommand } from "./commands/prepare.ts";
import { DatasetNotFoundError, READER_NAMES } from "./data/read.ts";

/** Every command by name, in the order the help lists them. */
export const COMMANDS: Record<string, Command> = {
  "init-config": initConfigCommand,
  prepare: prepareCommand,
  merge: mergeCommand,
  fit: fitCommand,
  eval: evalCommand,
  metrics: metricsCommand,
  export: exportCommand,
  gradcam: gradcamCommand,
  card: cardCommand,
};

/** Breaks text into lines of at most `width` characters at spaces. */
function wrap(text: string, width = 110): string {
  const lines = [""];
  for (const word of text.split(" ")) {
    const last = lines.length - 1;
    if (lines[last] && lines[last].length + 1 + word.length > width) lines.push(word);
    else lines[last] = lines[last] ? `${lines[last]} ${word}` : word;
  }
  return lines.join("\n");
}

/** `deno task train --help`: the command list with each command's summary. */
export const HELP = `deno task train <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)}  ${c.summary}`).join("\n")}

${
  wrap(
    `Datasets are given as <reader>:<root>[:<split>], reader one of ${READER_NAMES.join(", ")}; or as a ` +
      `config .json. Run "deno task train <command> --help" for a command's options.`,
  )
}`;

/** Runs one CLI invocation; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  try {
    if (!name || name === "--help" || name === "-h" || name === "help") {
      console.log(HELP);
      return name ? 0 : 2;
    }
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) throw new UsageError(`unknown command "${name}" (see deno task train --help)`);
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(command.help);
      return 0;
    }
    await command.run(rest);
    return 0;
  } catch (err) {
    const msg = (err as Error).message?.split("\n")[0] ?? String(err);
    console.error(`error: ${msg}`);
    // A dataset root that does not exist is a wrong path in the command or config, like a missing --model file;
    // train/export.ts parses its options again with node:util parseArgs, whose errors carry a code.
    const code = String((err as { code?: unknown }).code ?? "");
    return err instanceof UsageError || err instanceof DatasetNotFoundError ||
        code.startsWith("ERR_PARSE_ARGS")
      ? 2
      : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
