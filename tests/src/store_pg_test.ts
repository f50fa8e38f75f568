/**
 * The PostgreSQL job store on a throwaway cluster (tests/api/postgres.ts), two stores standing for two replicas:
 * claims never hand one job to both, a lease that expires is taken over and the old holder can then store
 * nothing, idempotency keys are unique per owner, uploads reach the replica that runs the job, expiry deletes
 * frames and uploads with their job. Skips without Postgres unless REQUIRE_POSTGRES=1.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Job } from "../../src/jobs/store.ts";
import { PgJobStore } from "../../src/jobs/store_pg.ts";
import { ApiError } from "../../src/errors.ts";
import { VideoJobOptions } from "../../openapi/schemas.ts";
import { SKIP_WITHOUT_POSTGRES, startPostgres } from "../api/postgres.ts";

const meta = {
  container: "mov,mp4,m4a,3gp,3g2,mj2",
  codec: "h264",
  width: 640,
  height: 360,
  duration: 10,
  fps: 25,
  frames: 250,
  size: 1000,
};

function job(id: string, createdAt: number, path: string, extra: Partial<Job> = {}): Job {
  return {
    id,
    owner: "",
    status: "queued",
    createdAt,
    options: { ...VideoJobOptions.parse({}), fps: 5 },
    model: { id: "m", version: "1", trained: false },
    video: meta,
    frameSize: { width: 640, height: 360 },
    path,
    done: 0,
    total: 50,
    ...extra,
  };
}

const frame = (i: number) => ({ width: 4, height: 4 + i, faces: [] });

Deno.test({
  name:
    "PgJobStore: claims, lease expiry takeover, lease-guarded frames, idempotency per owner, uploads, expiry",
  ignore: SKIP_WITHOUT_POSTGRES,
  async fn() {
    const pgc = await startPostgres();
    const dir = await Deno.makeTempDir({ prefix: "fer-pgstore-" });
    const a = new PgJobStore({ url: pgc.url, uploadsDir: join(dir, "a") });
    const b = new PgJobStore({ url: pgc.url, uploadsDir: join(dir, "b") });
    try {
      await Promise.all([a.ready(), b.ready()]);
      const upload = join(dir, "upload.bin");
      await Deno.writeFile(upload, new Uint8Array([1, 2, 3, 4]));
      await a.insert(job("j1", 1, upload));
      await a.insert(job("j2", 2, upload));

      // Two replicas claiming at once get different jobs, oldest first; a third claim finds nothing.
      const [ca, cb] = await Promise.all([a.claim("A", 60_000), b.claim("B", 60_000)]);
      assert.deepEqual([ca?.id, cb?.id].sort(), ["j1", "j2"]);
      assert.equal(ca?.status, "running");
      assert.equal(await a.claim("A", 60_000), undefined);
      const mine = ca!.id;
      const theirs = cb!.id;

      // Frames: only the lease holder, only at `done`.
      assert.equal(await a.appendFrames(mine, 0, [frame(0), frame(1)], 10, "A"), true);
      assert.equal(await b.appendFrames(mine, 2, [frame(2)], 10, "B"), false, "not B's lease");
      assert.equal(await a.appendFrames(mine, 5, [frame(5)], 10, "A"), false, "a gap is refused");
      assert.equal(await a.appendFrames(mine, 0, [frame(0)], 10, "A"), false, "a repeat is refused");
      assert.equal((await b.get(mine))!.done, 2);

      // A lease that is not renewed expires and the job is claimed again, from its stored frames.
      assert.equal(await a.renew(mine, "A", 300), true);
      assert.equal(await b.renew(mine, "B", 60_000), false);
      await new Promise((r) => setTimeout(r, 600));
      const taken = await b.claim("B2", 60_000);
      assert.equal(taken?.id, mine);
      assert.equal(taken?.done, 2, "resumes after the stored frames");
      assert.equal(await a.renew(mine, "A", 60_000), false, "the old holder lost it");
      assert.equal(await a.appendFrames(mine, 2, [frame(2)], 10, "A"), false);
      assert.equal(await a.setStatus(mine, "succeeded", { worker: "A" }), false);
      assert.equal(await b.appendFrames(mine, 2, [frame(2), frame(3)], 10, "B2"), true);
      assert.deepEqual(
        (await a.frames(mine)).map((f) => f.height),
        [4, 5, 6, 7],
        "no frame missing or twice",
      );
      assert.equal(await b.setStatus(mine, "succeeded", { total: 4, worker: "B2" }), true);
      const ended = (await a.get(mine))!;
      assert.equal(ended.status, "succeeded");
      assert.ok(ended.finishedAt);

      // Cancel from any replica; the holder's lease then fails at its next heartbeat.
      assert.equal(await a.setStatus(theirs, "cancelled"), true);
      assert.equal(await b.renew(theirs, "B", 60_000), false);
      assert.equal(await a.setStatus(theirs, "queued"), false, "an ended job stays ended");

      // Idempotency keys: one job per owner and key; another owner may use the same key.
      await a.insert(job("k1", 3, upload, { owner: "key:1", idempotencyKey: "same" }));
      await assert.rejects(b.insert(job("k2", 4, upload, { owner: "key:1", idempotencyKey: "same" })));
      await b.insert(job("k3", 5, upload, { owner: "key:2", idempotencyKey: "same" }));
      assert.equal((await b.byIdempotencyKey("key:1", "same"))?.id, "k1");
      assert.equal((await b.byIdempotencyKey("key:2", "same"))?.id, "k3");
      assert.deepEqual((await a.list({ owner: "key:1", limit: 10, offset: 0 })).map((j) => j.id), ["k1"]);

      // The replica that runs a job reads its upload from the database when its machine lacks the file.
      await Deno.remove(upload);
      const fetched = await b.upload((await b.get("k3"))!);
      assert.equal(fetched, join(dir, "b", "k3"));
      assert.deepEqual(await Deno.readFile(fetched), new Uint8Array([1, 2, 3, 4]));
      await b.removeUpload((await b.get("k3"))!);
      await assert.rejects(b.upload((await b.get("k3"))!), /upload of k3 is gone/);

      // Expiry deletes finished jobs with their frames.
      assert.equal(await a.deleteFinishedBefore(Date.now() + 1), 2);
      assert.equal(await a.get(mine), undefined);
      assert.deepEqual(await a.frames(mine), []);
      assert.ok(await a.get("k1"), "unfinished jobs stay");
    } finally {
      await a.close();
      await b.close();
      await pgc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("PgJobStore: a database that cannot be reached is a 503 not_ready (with Retry-After), not a 500", async () => {
  // A port nothing listens on: taken and closed again.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const store = new PgJobStore({ url: `postgres://fer@127.0.0.1:${port}/fer`, uploadsDir: "/nonexistent" });
  try {
    const err = await store.get("x").then(() => undefined, (e) => e);
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.code, "not_ready");
    assert.equal(err.status, 503);
    assert.equal(err.retryAfterSeconds, 5);
    assert.match(err.message, /^Cannot reach the job database: /);
  } finally {
    await store.close();
  }
});

Deno.test({
  name:
    "PgJobStore: a cancel written by one replica reaches the other's cancel listener at once; a replica drops only its fetched upload copy",
  ignore: SKIP_WITHOUT_POSTGRES,
  async fn() {
    const pgc = await startPostgres();
    const dir = await Deno.makeTempDir({ prefix: "fer-pgcancel-" });
    const a = new PgJobStore({ url: pgc.url, uploadsDir: join(dir, "a") });
    const b = new PgJobStore({ url: pgc.url, uploadsDir: join(dir, "b") });
    let unlisten: (() => Promise<void>) | undefined;
    try {
      await Promise.all([a.ready(), b.ready()]);
      const upload = join(dir, "upload.bin");
      await Deno.writeFile(upload, new Uint8Array([5, 6, 7]));
      await a.insert(job("c1", 1, upload));
      await a.insert(job("c2", 2, upload));
      const heard: string[] = [];
      let hear = () => {};
      unlisten = await b.onCancel((id) => {
        heard.push(id);
        hear();
      });
      const running = await b.claim("wb", 60_000);
      assert.equal(running?.id, "c1");
      // `b` runs c1 from the database's copy (the receiving replica's file is not on its machine).
      await Deno.remove(upload);
      const local = await b.upload(running!);
      assert.equal(local, join(dir, "b", "c1"));
      assert.deepEqual(await Deno.readFile(local), new Uint8Array([5, 6, 7]));

      const arrived = new Promise<void>((r) => (hear = r));
      assert.equal(await a.setStatus("c1", "cancelled"), true);
      await Promise.race([
        arrived,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error("no cancel notification in 5 s")), 5000)
        ),
      ]);
      assert.deepEqual(heard, ["c1"]);
      // Only a status that changed is announced: a second cancel, or another status, says nothing.
      assert.equal(await a.setStatus("c1", "cancelled"), false);
      assert.equal(await a.setStatus("c2", "failed"), true);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(heard, ["c1"]);

      await b.dropLocalUpload(running!);
      assert.equal(await Deno.stat(local).then(() => true, () => false), false);
      assert.ok(await b.upload(running!), "the database still holds the upload");
    } finally {
      await unlisten?.();
      await a.close();
      await b.close();
      await pgc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
