import assert from "node:assert/strict";
import { createProgress, formatDuration } from "../../train/progress.ts";

Deno.test("createProgress() prints plain lines with rate and ETA when not a terminal", () => {
  let t = 0;
  const out: string[] = [];
  const p = createProgress(100, {
    label: "prepare",
    unit: "img",
    isTty: false,
    intervalMs: 1000,
    now: () => t,
    write: (s) => out.push(s),
  });
  t = 500;
  p.tick(10); // first tick always draws
  t = 700;
  p.tick(10); // within the interval: silent
  t = 2000;
  p.tick(20); // 40 in 2 s = 20/s, 60 left -> 3 s
  t = 2100;
  p.tick(5); // within the interval: silent, but done() shows it
  p.done();
  assert.equal(out.length, 3);
  assert.ok(out.every((l) => l.endsWith("\n") && !l.includes("\r")));
  assert.equal(out[1], "prepare 40/100  40% 20 img/s ETA 3s\n");
});

Deno.test("createProgress() does not repeat the last plain line on done()", () => {
  const out: string[] = [];
  const p = createProgress(2, { isTty: false, now: () => 0, write: (s) => out.push(s) });
  p.tick(2);
  p.done();
  assert.equal(out.length, 1);
});

Deno.test("createProgress() redraws one line with a bar on a terminal", () => {
  let t = 0;
  const out: string[] = [];
  const p = createProgress(4, { isTty: true, intervalMs: 0, now: () => t, write: (s) => out.push(s) });
  t = 1000;
  p.tick(2);
  p.done();
  p.done();
  assert.equal(out[0], `\r[${"#".repeat(12)}${".".repeat(12)}] 2/4  50% 2.0 it/s ETA 1s\x1b[K`);
  assert.equal(out.at(-1), "\n");
  assert.equal(out.length, 3);
});

Deno.test("formatDuration() formats hours, minutes and seconds", () => {
  assert.deepEqual([formatDuration(42), formatDuration(185), formatDuration(3720), formatDuration(NaN)], [
    "42s",
    "3m05s",
    "1h02m",
    "?",
  ]);
});
