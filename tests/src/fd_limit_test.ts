import assert from "node:assert/strict";
import { connectionCap, FD_RESERVE, parseFdLimit, readFdLimit } from "../../src/fd_limit.ts";

Deno.test("parseFdLimit() reads the Max open files line; unlimited is infinite; other text is undefined", () => {
  const text =
    "Limit  Soft Limit  Hard Limit  Units\nMax open files            1024                 524288               files\n";
  assert.deepEqual(parseFdLimit(text), { soft: 1024, hard: 524288 });
  assert.deepEqual(parseFdLimit("Max open files unlimited unlimited files"), {
    soft: Infinity,
    hard: Infinity,
  });
  assert.equal(parseFdLimit("Max processes 10 10"), undefined);
});

Deno.test("readFdLimit() falls back to a child shell's ulimit where /proc cannot be read (the start task's permissions)", () => {
  const limit = readFdLimit("/nonexistent/limits");
  assert.ok(limit !== undefined, "the shell fallback gives the limit");
  assert.ok(limit.soft > 0 && limit.hard >= limit.soft, JSON.stringify(limit));
  assert.equal(connectionCap(1_000_000, { soft: 256, hard: 256 }), 256 - FD_RESERVE);
});
