/**
 * Every curl line of the README that calls the API (fenced `sh` blocks, `http://localhost:8080`) runs as
 * written against real servers on loopback: lines that send `$KEY` against one with API_KEYS set (the shell
 * fills in the key, so single quotes around it would get 401), the others against one without keys. curl runs
 * with `-f`, so any HTTP error fails the test, and with `pipefail`, so a `| jq` on a bad answer does too.
 */
import assert from "node:assert/strict";
import { demoPhoto, solidPng } from "./fixtures.ts";
import { withApiServer } from "./user_script.ts";

const KEY = "readme-key";
const README = new URL("../../README.md", import.meta.url);

/** The README's curl commands that call the API, continuation lines joined. */
export function readmeCurlCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const [, block] of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    // Continuations: a trailing backslash, or a pipe at the end of the line.
    const joined = block.replace(/\s*\\\n\s*/g, " ").replace(/\|\n\s*/g, "| ");
    for (const line of joined.split("\n")) {
      const cmd = line.trim();
      if (/(^|\| )curl /.test(cmd) && cmd.includes("http://localhost:8080")) commands.push(cmd);
    }
  }
  return commands;
}

async function has(tool: string): Promise<boolean> {
  try {
    return (await new Deno.Command(tool, { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

// The README's commands are curl and bash lines: a machine without them cannot run them (jq is optional).
const hasShell = await has("curl") && await has("bash");

Deno.test("readmeCurlCommands() joins continuation lines and keeps only API calls", () => {
  const md =
    "```sh\ncurl -s -F a=@b \\\n  'http://localhost:8080/x'\ncurl https://example.com\ndeno task x\n" +
    "jq -n 1 |\n  curl -d @- http://localhost:8080/y\n```\n" +
    "```json\ncurl http://localhost:8080/no\n```\n";
  assert.deepEqual(readmeCurlCommands(md), [
    "curl -s -F a=@b 'http://localhost:8080/x'",
    "jq -n 1 | curl -d @- http://localhost:8080/y",
  ]);
});

Deno.test({
  name: "every curl line of the README's sh blocks works against a test server",
  ignore: !hasShell,
}, async () => {
  const commands = readmeCurlCommands(await Deno.readTextFile(README));
  assert.ok(commands.length >= 15, `only ${commands.length} curl commands found`);
  assert.ok(commands.some((c) => c.includes("$KEY")), "the README shows the API-key headers");
  assert.ok(commands.some((c) => c.includes("/infer")), "the README shows a V2 infer call");
  const jq = await has("jq");
  await withApiServer(KEY, async (keyed) => {
    await withApiServer("", async (open) => {
      const dir = open.dir;
      await Deno.writeFile(`${dir}/photo.jpg`, demoPhoto(1));
      await Deno.writeFile(`${dir}/face.png`, await solidPng(64, 64, [200, 150, 120]));
      for (const i of [0, 1, 2]) await Deno.writeFile(`${dir}/f${i}.jpg`, demoPhoto(([2, 3, 4] as const)[i]));
      const failures: string[] = [];
      for (const command of commands) {
        const base = command.includes("$KEY") ? keyed.base : open.base;
        const cmd = command.replaceAll("http://localhost:8080", base).replace(
          /(^|\| )curl /,
          "$1curl -f -S ",
        );
        if (!jq && cmd.includes("jq ")) continue; // needs jq to run as written
        const out = await new Deno.Command("bash", {
          args: ["-c", `set -o pipefail; ${cmd}`],
          cwd: dir,
          env: { KEY },
          stdout: "null",
          stderr: "piped",
        }).output();
        if (!out.success) failures.push(`${command}\n  -> ${new TextDecoder().decode(out.stderr).trim()}`);
      }
      assert.deepEqual(failures, []);
    });
  });
});
