import assert from "node:assert/strict";
import { createBatcher } from "../../src/batcher.ts";
import { ApiError } from "../../src/errors.ts";

const double = (items: number[]) => Promise.resolve(items.map((x) => x * 2));

Deno.test("createBatcher() flushes at maxBatch and gives each caller its own slice", async () => {
  const sizes: number[] = [];
  const b = createBatcher<number, number>({
    run: double,
    maxBatch: 4,
    maxDelayMs: 1000,
    onBatch: (i) => sizes.push(i.size),
  });
  const a = b.submit([1, 2, 3], { tag: "a" });
  const c = b.submit([10, 20, 30, 40, 50], { tag: "c" });
  assert.deepEqual(await Promise.all(a), [2, 4, 6]);
  assert.deepEqual(await Promise.all(c), [20, 40, 60, 80, 100]);
  // 8 items at maxBatch 4: two full batches flushed without waiting the 1 s delay.
  assert.deepEqual(sizes, [4, 4]);
});

Deno.test("createBatcher() flushes a partial batch after maxDelayMs and counts callers", async () => {
  const infos: { size: number; callers: number }[] = [];
  const b = createBatcher<number, number>({
    run: double,
    maxBatch: 32,
    maxDelayMs: 5,
    onBatch: (i) => infos.push(i),
  });
  const r = await Promise.all([...b.submit([1], { tag: "x" }), ...b.submit([2], { tag: "y" })]);
  assert.deepEqual(r, [2, 4]);
  assert.equal(infos.length, 1);
  assert.equal(infos[0].size, 2);
  assert.equal(infos[0].callers, 2);
});

Deno.test("createBatcher() fails one bad item alone", async () => {
  const b = createBatcher<number, number>({
    run: (items) => items.includes(13) ? Promise.reject(new Error("bad item 13")) : double(items),
    maxBatch: 8,
    maxDelayMs: 1,
  });
  const results = await Promise.allSettled(b.submit([1, 13, 3]));
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.equal((results[0] as PromiseFulfilledResult<number>).value, 2);
  assert.equal((results[2] as PromiseFulfilledResult<number>).value, 6);
});

Deno.test("createBatcher() refuses a call that does not fit the queue with 503 overloaded", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const b = createBatcher<number, number>({
    run: async (items) => {
      await gate;
      return items;
    },
    maxBatch: 2,
    maxDelayMs: 0,
    maxQueue: 3,
  });
  const first = b.submit([1, 2]); // runs (and blocks)
  await new Promise((r) => setTimeout(r, 5));
  const queued = b.submit([3, 4, 5]); // fills the queue
  const err = (() => {
    try {
      b.submit([6]);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof ApiError);
  assert.equal(err.code, "overloaded");
  assert.equal(err.status, 503);
  assert.ok((err.retryAfterSeconds ?? 0) > 0);
  release();
  assert.deepEqual(await Promise.all([...first, ...queued]), [1, 2, 3, 4, 5]);
  await b.idle();
  assert.equal(b.depth, 0);
});

Deno.test("createBatcher() drops items whose deadline passed in the queue with 504", async () => {
  let ran = 0;
  const b = createBatcher<number, number>({
    run: (items) => {
      ran += items.length;
      return double(items);
    },
    maxBatch: 4,
    maxDelayMs: 20,
  });
  const [late] = b.submit([1], { deadline: performance.now() + 1 });
  await assert.rejects(late, (e) => e instanceof ApiError && e.code === "deadline_exceeded");
  assert.equal(ran, 0);
});

Deno.test("createBatcher() answers 413 (not retryable) for a call larger than the whole queue", () => {
  const b = createBatcher<number, number>({ run: (items) => Promise.resolve(items), maxQueue: 3 });
  assert.throws(
    () => b.submit([1, 2, 3, 4]),
    (e: unknown) =>
      e instanceof ApiError && e.status === 413 && e.code === "payload_too_large" &&
      e.retryAfterSeconds === undefined && /MAX_QUEUE=3/.test(e.message),
  );
  assert.equal(b.depth, 0);
});

Deno.test("createBatcher() runs waiting foreground items before background ones (video jobs yield)", async () => {
  const batches: number[][] = [];
  const b = createBatcher<number, number>({
    run: (items) => {
      batches.push(items);
      return Promise.resolve(items);
    },
    maxBatch: 2,
    maxDelayMs: 5,
  });
  const job = b.submit([1, 2, 3, 4], { background: true });
  const photo = b.submit([100, 101]);
  await Promise.all([...job, ...photo]);
  // The job queued first, yet the first run is the photo's.
  assert.deepEqual(batches, [[100, 101], [1, 2], [3, 4]]);
});

Deno.test("createBatcher() drops an aborted caller's queued items: they never run, the queue frees", async () => {
  const ran: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const b = createBatcher<number, number>({
    run: async (items) => {
      ran.push(...items);
      await gate;
      return items.map((x) => x * 2);
    },
    maxBatch: 2,
    maxDelayMs: 0,
  });
  const first = b.submit([1, 2]); // runs at once and holds the model
  await new Promise((r) => setTimeout(r, 5));
  const ac = new AbortController();
  const gone = b.submit([3, 4, 5], { signal: ac.signal });
  const other = b.submit([6]);
  assert.equal(b.depth, 4);
  ac.abort(new ApiError("client_closed", "Cannot answer: gone"));
  for (const p of gone) await assert.rejects(p, (e) => e instanceof ApiError && e.code === "client_closed");
  assert.equal(b.depth, 1, "only the other caller's item still waits");
  release();
  assert.deepEqual(await Promise.all([...first, ...other]), [2, 4, 12]);
  await b.idle();
  assert.deepEqual(ran, [1, 2, 6], "no model run for the aborted items");
  assert.throws(() => b.submit([7], { signal: ac.signal }), (e) => e instanceof ApiError);
});
