import assert from "node:assert/strict";
import { createSemaphore } from "../../src/semaphore.ts";

Deno.test("createSemaphore() runs at most `permits` tasks at once, in FIFO order", async () => {
  const s = createSemaphore(2);
  let running = 0, peak = 0;
  const order: number[] = [];
  await Promise.all([0, 1, 2, 3, 4].map((i) =>
    s.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      order.push(i);
      running--;
    })
  ));
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  assert.equal(s.waiting, 0);
  await assert.rejects(s.run(() => Promise.reject(new Error("x"))));
  assert.equal(await s.run(() => Promise.resolve(7)), 7, "a failed task releases its permit");
});

Deno.test("createSemaphore() lets an aborted waiter leave the queue; its permit goes to the next", async () => {
  const s = createSemaphore(1);
  let release!: () => void;
  const held = s.run(() => new Promise<void>((r) => release = r));
  const ac = new AbortController();
  const ran: string[] = [];
  const aborted = s.run(() => Promise.resolve(ran.push("aborted")), ac.signal);
  const next = s.run(() => Promise.resolve(ran.push("next")));
  assert.equal(s.waiting, 2);
  ac.abort(new Error("gone"));
  await assert.rejects(aborted, /gone/);
  assert.equal(s.waiting, 1);
  release();
  await Promise.all([held, next]);
  assert.deepEqual(ran, ["next"]);
});
