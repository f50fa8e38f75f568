/**
 * Every curl line of the README that calls the API (fenced `sh` blocks, `http://localhost:8080`) runs as
 * written against real servers on loopback: lines that send `$KEY` against one with API_KEYS set (the shell
 * fills in the key, so single quotes around it would get 401), the others against one without keys. curl runs
 * with `-f`, so any HTTP error fails the test, and with `pipefail`, so a `| jq` on a bad answer does too. A line
 * that keeps an answer in a shell variable (`loc=$(curl ...)`) runs first and hands the variable to the lines
 * after it, so a walk-through (upload, poll, download) runs in order as a user would paste it.
 */
import assert from "node:assert/strict";
import { demoPhoto, solidPng } from "./fixtures.ts";
import { withApiServer } from "./user_script.ts";
import { HAS_FFMPEG, makeVideo, SKIP_WITHOUT_FFMPEG } from "../fixtures/videos.ts";

const KEY = "readme-key";
const README = new URL("../../README.md", import.meta.url);

/** `NAME=$(curl ...)`: a line that keeps an answer for the lines after it. */
const ASSIGNMENT = /^([A-Za-z_]\w*)=\$\((curl .*)\)$/;

/** The README's curl commands that call the API, continuation lines joined. */
export function readmeCurlCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const [, block] of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    // Continuations: a trailing backslash, or a pipe at the end of the line.
    const joined = block.replace(/\s*\\\n\s*/g, " ").replace(/\|\n\s*/g, "| ");
    for (const line of joined.split("\n")) {
      const cmd = line.trim();
      const callsApi = /(^|\| )curl /.test(cmd) || ASSIGNMENT.test(cmd);
      if (callsApi && cmd.includes("http://localhost:8080")) commands.push(cmd);
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
    "jq -n 1 |\n  curl -d @- http://localhost:8080/y\nloc=$(curl -s http://localhost:8080/z | tr a b)\n```\n" +
    "```json\ncurl http://localhost:8080/no\n```\n";
  assert.deepEqual(readmeCurlCommands(md), [
    "curl -s -F a=@b 'http://localhost:8080/x'",
    "jq -n 1 | curl -d @- http://localhost:8080/y",
    "loc=$(curl -s http://localhost:8080/z | tr a b)",
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
      if (HAS_FFMPEG) await makeVideo(dir, "clip.mp4", { seconds: 2, fps: 5 });
      const failures: string[] = [];
      const vars: Record<string, string> = {};
      for (const command of commands) {
        if (SKIP_WITHOUT_FFMPEG && /clip\.mp4|\$loc/.test(command)) continue; // the video walk-through needs ffmpeg
        const base = command.includes("$KEY") ? keyed.base : open.base;
        const cmd = command.replaceAll("http://localhost:8080", base).replace(
          /(^|\| |\$\()curl /g,
          "$1curl -f -S ",
        );
        if (!jq && cmd.includes("jq ")) continue; // needs jq to run as written
        const assignment = cmd.match(ASSIGNMENT);
        const out = await new Deno.Command("bash", {
          args: ["-c", `set -o pipefail; ${assignment ? assignment[2] : cmd}`],
          cwd: dir,
          env: { KEY, ...vars },
          stdout: assignment ? "piped" : "null",
          stderr: "piped",
        }).output();
        if (!out.success) failures.push(`${command}\n  -> ${new TextDecoder().decode(out.stderr).trim()}`);
        else if (assignment) vars[assignment[1]] = new TextDecoder().decode(out.stdout).trim();
      }
      assert.deepEqual(failures, []);
    });
  });
});
