import assert from "node:assert/strict";
import { createRng, shuffleInPlace } from "../../../train/data/rng.ts";

Deno.test("createRng() is deterministic per seed and resumes exactly from a saved state", () => {
  const a = createRng(42), b = createRng(42), c = createRng(43);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.next()));
  const saved = JSON.parse(JSON.stringify(a.state()));
  const tail = Array.from({ length: 5 }, () => a.int(1000));
  const resumed = createRng(saved);
  assert.deepEqual(Array.from({ length: 5 }, () => resumed.int(1000)), tail);
});

Deno.test("createRng() draws uniform values in [0,1) and ints in range", () => {
  const r = createRng(7);
  let sum = 0;
  const hist = new Array(10).fill(0);
  for (let i = 0; i < 20000; i++) {
    const v = r.next();
    assert.ok(v >= 0 && v < 1);
    sum += v;
    hist[r.int(10)]++;
  }
  assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01, `mean ${sum / 20000}`);
  for (const h of hist) assert.ok(Math.abs(h - 2000) < 200, `bucket ${h}`);
  assert.throws(() => createRng({ s: [1, 2] } as never), /Cannot restore RNG/);
});

Deno.test("shuffleInPlace() permutes without losing items", () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const shuffled = shuffleInPlace(items.slice(), createRng(1));
  assert.notDeepEqual(shuffled, items);
  assert.deepEqual(shuffled.slice().sort((x, y) => x - y), items);
});
