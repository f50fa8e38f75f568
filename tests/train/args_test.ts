import assert from "node:assert/strict";
import { parseCommandArgs, UsageError } from "../../train/commands/args.ts";

const OPTIONS = {
  out: { type: "string" },
  merge: { type: "boolean" },
  metrics: { type: "string", multiple: true },
} as const;

Deno.test("parseCommandArgs() reads --name value, --name=value, booleans and repeated options", () => {
  const { values } = parseCommandArgs(["--out", "a", "--merge", "--metrics=m1", "--metrics", "m2"], OPTIONS);
  assert.deepEqual({ ...values }, { out: "a", merge: true, metrics: ["m1", "m2"] });
  assert.deepEqual(parseCommandArgs(["x.jpg", "--out=b"], OPTIONS, { positionals: true }).positionals, [
    "x.jpg",
  ]);
});

Deno.test("parseCommandArgs() words every usage mistake the same way for every command", () => {
  for (
    const [args, message] of [
      [["--colour", "red"], "unknown option --colour (see --help)"],
      [["--out"], "option --out needs a value"],
      [["--out", "--merge"], "option --out needs a value"],
      [["--merge=yes"], "option --merge takes no value"],
      [["stray"], 'unexpected argument "stray" (options start with --)'],
      [["-x"], 'unexpected argument "-x" (options start with --)'],
    ] as const
  ) {
    assert.throws(() => parseCommandArgs([...args], OPTIONS), (err: Error) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.message, message);
      return true;
    });
  }
});
