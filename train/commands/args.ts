/**
 * What every `deno task train` command shares: the usage error (exit 2), the node:util parseArgs wrapper that
 * words its mistakes the same way for every command, and the small checks on option values and named paths.
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { type DatasetSource, parseDatasetArg } from "../data/read.ts";

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The values parseArgs gives for `options` (strict typing, positionals allowed). */
export type ParsedValues<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>["values"];

/**
 * Parses a command's arguments with node:util parseArgs (`--name value`, `--name=value`, boolean `--name`,
 * `multiple` options collect every value). Every mistake is a {@link UsageError} worded alike for all commands:
 * an unknown option, a missing value, a value given to a boolean, a positional where none is taken.
 */
export function parseCommandArgs<O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  { positionals = false }: { positionals?: boolean } = {},
): { values: ParsedValues<O>; positionals: string[] } {
  const parsed = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  for (const token of parsed.tokens) {
    if (token.kind === "positional") {
      if (!positionals) throw new UsageError(`unexpected argument "${token.value}" (options start with --)`);
      continue;
    }
    if (token.kind === "option-terminator" || !/^--[a-z][a-z0-9-]*$/.test(token.rawName)) {
      throw new UsageError(`unexpected argument "${args[token.index]}" (options start with --)`);
    }
    const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (!spec) throw new UsageError(`unknown option --${token.name} (see --help)`);
    if (spec.type === "boolean") {
      if (token.value !== undefined) throw new UsageError(`option --${token.name} takes no value`);
    } else if (token.value === undefined || (token.inlineValue === false && token.value.startsWith("--"))) {
      throw new UsageError(`option --${token.name} needs a value`);
    }
  }
  return { values: parsed.values as ParsedValues<O>, positionals: parsed.positionals };
}

/** A required string option: `missing --<name> (see --help)` when absent. */
export function need(value: string | undefined, name: string): string {
  if (value === undefined) throw new UsageError(`missing --${name} (see --help)`);
  return value;
}

/** A positive integer option, `fallback` when absent. */
export function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`--${name} is "${value}", expected a positive integer`);
  }
  return n;
}

/** An option that takes one of a few words, `fallback` when absent. */
export function oneOf<T extends string>(
  value: string | undefined,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} is "${value}", expected ${choices.join(" or ")}`);
  }
  return value as T;
}

/** A path named on the command line must exist: `Cannot read <what> "<path>": no such file` is a usage error. */
export async function mustExist(
  path: string,
  what: string,
  kind: "file" | "folder" | "file or folder" = "file",
): Promise<void> {
  try {
    await Deno.stat(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new UsageError(`Cannot read ${what} "${path}": no such ${kind}`);
  }
}

/** Runs a parser of an option's text, turning its error into a usage error (e.g. `--dataset`, `--shard`). */
export function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `--dataset reader:root[:split]`; a malformed one is a usage error. */
export function datasetArg(text: string): DatasetSource {
  return usage(() => parseDatasetArg(text));
}

/** Prints a command's result as indented JSON on stdout. */
export function printJson(json: unknown): void {
  console.log(JSON.stringify(json, null, 2));
}

/** One `deno task train` command: its line in the main help, its own help, and what it runs. */
export interface Command {
  summary: string;
  help: string;
  run(args: string[]): Promise<void> | void;
}
