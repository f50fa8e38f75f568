/**
 * The job store on PostgreSQL (DATABASE_URL): jobs, the queue, uploads and per-frame results in four tables
 * shared by any number of replicas. Work is claimed with `SELECT ... FOR UPDATE SKIP LOCKED`, so two replicas
 * never take the same job; a claim is a lease (owner + expiry on the database's clock) that the runner renews
 * by heartbeat, and a job whose lease expired (its replica was killed) is claimed again like a queued one and
 * resumes after its last stored frame. Frames are keyed by job and index and written only by the lease holder
 * whose `done` matches, in one transaction with `done`, so a takeover stores no frame twice and skips none.
 * Uploads are kept as `bytea` (fetched to DATA_DIR by the replica that runs the job) and deleted when it ends.
 * A cancel is also sent as a `NOTIFY` on {@link CANCEL_CHANNEL}, so the replica running the job stops it at
 * once instead of at its next heartbeat.
 */
import pg from "pg";
import { join } from "node:path";
import type { AnalyzedImage } from "../classify.ts";
import { ApiError } from "../errors.ts";
import type { WebhookAttempt } from "./webhook.ts";
import {
  isFinalStatus,
  type Job,
  type JobBackend,
  jobFromRow,
  jobInsertValues,
  type JobRow,
  type JobStatus,
  type SetStatusOptions,
} from "./store.ts";

/** The `LISTEN`/`NOTIFY` channel on which a cancelled job's id is sent to every replica. */
export const CANCEL_CHANNEL = "fer_job_cancel";

/** How long a lost cancel listener waits before connecting again (the heartbeat covers the gap). */
const RELISTEN_MS = 1000;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS fer_jobs (
    id text PRIMARY KEY, owner text NOT NULL, idem text, status text NOT NULL,
    created_at bigint NOT NULL, started_at bigint, finished_at bigint, body text NOT NULL,
    done integer NOT NULL DEFAULT 0, total integer NOT NULL DEFAULT 0, rate double precision, error text,
    webhook jsonb, lease_owner text, lease_until timestamptz,
    UNIQUE (owner, idem)
  );
  CREATE INDEX IF NOT EXISTS fer_jobs_by_owner ON fer_jobs (owner, created_at);
  CREATE INDEX IF NOT EXISTS fer_jobs_queue ON fer_jobs (created_at, id) WHERE status IN ('queued', 'running');
  CREATE TABLE IF NOT EXISTS fer_frames (
    job text NOT NULL REFERENCES fer_jobs (id) ON DELETE CASCADE, idx integer NOT NULL, data text NOT NULL,
    PRIMARY KEY (job, idx)
  );
  CREATE TABLE IF NOT EXISTS fer_uploads (
    job text PRIMARY KEY REFERENCES fer_jobs (id) ON DELETE CASCADE, bytes bytea NOT NULL
  );
`;

/**
 * A database that cannot be reached is a 503 for the request that needed it, not a 500; errors the database
 * answered (a unique key, which idempotency relies on) pass through as they are.
 */
function unreachable(err: unknown): never {
  if (err instanceof pg.DatabaseError || err instanceof ApiError) throw err;
  throw new ApiError(
    "not_ready",
    `Cannot reach the job database: ${err instanceof Error ? err.message : String(err)}`,
    { retryAfterSeconds: 5, cause: err },
  );
}

/** Options of {@link PgJobStore}. */
export interface PgJobStoreOptions {
  /** `postgres://` URL. */
  url: string;
  /** Local folder where uploads fetched from the database are written for ffmpeg (created when missing). */
  uploadsDir: string;
  /** Connections of this replica's pool. */
  maxConnections?: number;
  /** Called with errors of idle connections (the database restarted): logged, the pool reconnects. */
  onError?: (err: Error) => void;
}

/** The job store on PostgreSQL (see the module note). */
export class PgJobStore implements JobBackend {
  readonly shared = true;
  readonly pool: pg.Pool;
  readonly #uploadsDir: string;
  readonly #url: string;
  #ready?: Promise<void>;

  /** Connects lazily; the schema is created before the first statement. */
  constructor(o: PgJobStoreOptions) {
    this.#url = o.url;
    this.pool = new pg.Pool({ connectionString: o.url, max: o.maxConnections ?? 8 });
    // Without a listener an idle connection's error (database restart) would end the process.
    this.pool.on("error", (err) => o.onError?.(err));
    this.#uploadsDir = o.uploadsDir;
  }

  /** The schema, created once (under an advisory lock); tried again by the next statement after a failure. */
  #schema(): Promise<void> {
    this.#ready ??= this.#tx(async (c) => {
      // Replicas starting together would race on CREATE TABLE IF NOT EXISTS (a duplicate pg_type row).
      await c.query(`SELECT pg_advisory_xact_lock(hashtext('fer_jobs schema'))`);
      await c.query(SCHEMA);
    }, false).catch((err) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async #q<R extends pg.QueryResultRow = JobRow>(
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    await this.#schema();
    return await this.pool.query<R>(text, values).catch(unreachable);
  }

  async #tx<T>(body: (c: pg.PoolClient) => Promise<T>, ready = true): Promise<T> {
    if (ready) await this.#schema();
    const c = await this.pool.connect().catch(unreachable);
    let broken = false;
    try {
      await c.query("BEGIN");
      const out = await body(c);
      await c.query("COMMIT");
      return out;
    } catch (err) {
      // A connection that failed (not a statement the database refused) is not given back to the pool.
      broken = !(err instanceof pg.DatabaseError || err instanceof ApiError);
      await c.query("ROLLBACK").catch(() => {});
      unreachable(err);
    } finally {
      c.release(broken);
    }
  }

  /** Resolves once the schema exists (rejects when the database cannot be reached). */
  ready(): Promise<void> {
    return this.#schema();
  }

  /** Stores the job and its upload's bytes in one transaction. */
  async insert(job: Job): Promise<void> {
    const bytes = await Deno.readFile(job.path);
    await this.#tx(async (c) => {
      await c.query(
        `INSERT INTO fer_jobs (id, owner, idem, status, created_at, body, done, total, webhook)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        jobInsertValues(job),
      );
      await c.query(`INSERT INTO fer_uploads (job, bytes) VALUES ($1, $2)`, [job.id, bytes]);
    });
  }

  async addWebhookAttempt(id: string, attempt: WebhookAttempt): Promise<void> {
    await this.#q(
      `UPDATE fer_jobs SET webhook = jsonb_set(webhook, '{attempts}', (webhook -> 'attempts') || $1::jsonb)
       WHERE id = $2 AND webhook IS NOT NULL`,
      [JSON.stringify([attempt]), id],
    );
  }

  async finishedWithWebhook(): Promise<Job[]> {
    const r = await this.#q(
      `SELECT * FROM fer_jobs WHERE webhook IS NOT NULL AND finished_at IS NOT NULL ORDER BY finished_at`,
    );
    return r.rows.map(jobFromRow);
  }

  async get(id: string): Promise<Job | undefined> {
    const r = await this.#q(`SELECT * FROM fer_jobs WHERE id = $1`, [id]);
    return r.rows[0] ? jobFromRow(r.rows[0]) : undefined;
  }

  async byIdempotencyKey(owner: string, key: string): Promise<Job | undefined> {
    const r = await this.#q(`SELECT * FROM fer_jobs WHERE owner = $1 AND idem = $2`, [owner, key]);
    return r.rows[0] ? jobFromRow(r.rows[0]) : undefined;
  }

  async list({ owner, limit, offset }: { owner?: string; limit: number; offset: number }): Promise<Job[]> {
    const r = owner === undefined
      ? await this.#q(`SELECT * FROM fer_jobs ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2`, [
        limit,
        offset,
      ])
      : await this.#q(
        `SELECT * FROM fer_jobs WHERE owner = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
        [owner, limit, offset],
      );
    return r.rows.map(jobFromRow);
  }

  async setStatus(
    id: string,
    status: JobStatus,
    { error, total, at = Date.now(), worker }: SetStatusOptions = {},
  ): Promise<boolean> {
    const final = isFinalStatus(status);
    const r = await this.#q(
      `UPDATE fer_jobs SET status = $1,
         started_at = CASE WHEN $1 = 'running' THEN COALESCE(started_at, $2) ELSE started_at END,
         finished_at = CASE WHEN $3 THEN $2 ELSE finished_at END,
         error = COALESCE($4, error), total = COALESCE($5, total),
         lease_owner = CASE WHEN $3 THEN NULL ELSE lease_owner END,
         lease_until = CASE WHEN $3 THEN NULL ELSE lease_until END
       WHERE id = $6 AND ${
        worker === undefined
          ? "status NOT IN ('succeeded', 'failed', 'cancelled')"
          : "status = 'running' AND lease_owner = $7"
      }`,
      [
        status,
        at,
        final,
        error ? JSON.stringify(error) : null,
        total ?? null,
        id,
        ...(worker ? [worker] : []),
      ],
    );
    const changed = (r.rowCount ?? 0) > 0;
    if (changed && status === "cancelled") {
      // Best effort: a replica that misses it still stops at its next heartbeat (the lease is gone).
      await this.#q(`SELECT pg_notify($1, $2)`, [CANCEL_CHANNEL, id]).catch(() => {});
    }
    return changed;
  }

  async claim(worker: string, leaseMs: number): Promise<Job | undefined> {
    const r = await this.#q(
      `UPDATE fer_jobs SET status = 'running', started_at = COALESCE(started_at, $3),
         lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond'
       WHERE id = (
         SELECT id FROM fer_jobs
         WHERE status = 'queued' OR (status = 'running' AND (lease_until IS NULL OR lease_until < now()))
         ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
       )
       RETURNING *`,
      [worker, leaseMs, Date.now()],
    );
    return r.rows[0] ? jobFromRow(r.rows[0]) : undefined;
  }

  async renew(id: string, worker: string, leaseMs: number): Promise<boolean> {
    const r = await this.#q(
      `UPDATE fer_jobs SET lease_until = now() + $3 * interval '1 millisecond'
       WHERE id = $1 AND lease_owner = $2 AND status = 'running'`,
      [id, worker, leaseMs],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async release(id: string, worker: string): Promise<void> {
    await this.#q(
      `UPDATE fer_jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL
       WHERE id = $1 AND lease_owner = $2 AND status = 'running'`,
      [id, worker],
    );
  }

  appendFrames(
    id: string,
    from: number,
    frames: readonly AnalyzedImage[],
    rate?: number,
    worker?: string,
  ): Promise<boolean> {
    return this.#tx(async (c) => {
      // The row lock orders this against a takeover's claim: after it, the old holder's chunk is refused.
      const held = await c.query(
        `SELECT 1 FROM fer_jobs WHERE id = $1 ${
          worker === undefined ? "" : "AND status = 'running' AND lease_owner = $3 AND done = $2"
        } FOR UPDATE`,
        worker === undefined ? [id] : [id, from, worker],
      );
      if (!held.rowCount) return false;
      await c.query(
        `INSERT INTO fer_frames (job, idx, data)
         SELECT $1, $2 + t.i - 1, t.d FROM unnest($3::text[]) WITH ORDINALITY AS t(d, i)
         ON CONFLICT (job, idx) DO NOTHING`,
        [id, from, frames.map((f) => JSON.stringify(f))],
      );
      await c.query(`UPDATE fer_jobs SET done = $2, rate = COALESCE($3, rate) WHERE id = $1`, [
        id,
        from + frames.length,
        rate ?? null,
      ]);
      return true;
    });
  }

  async frames(id: string, from = 0): Promise<AnalyzedImage[]> {
    const r = await this.#q<{ data: string }>(
      `SELECT data FROM fer_frames WHERE job = $1 AND idx >= $2 ORDER BY idx`,
      [id, from],
    );
    return r.rows.map((row) => JSON.parse(row.data));
  }

  async requeueRunning(): Promise<string[]> {
    const r = await this.#q<{ id: string; created_at: string }>(
      `UPDATE fer_jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL
       WHERE status = 'running' AND (lease_until IS NULL OR lease_until < now()) RETURNING id, created_at`,
    );
    return r.rows.sort((a, b) => Number(a.created_at) - Number(b.created_at)).map((row) => row.id);
  }

  /** The upload in this replica's uploads folder, written from the database when this replica lacks it. */
  async upload(job: Job): Promise<string> {
    const local = join(this.#uploadsDir, job.id);
    for (const path of [job.path, local]) {
      if (await Deno.stat(path).then((s) => s.isFile, () => false)) return path;
    }
    const r = await this.#q<{ bytes: Uint8Array }>(`SELECT bytes FROM fer_uploads WHERE job = $1`, [job.id]);
    if (!r.rows[0]) throw new Error(`Cannot run job: the upload of ${job.id} is gone from the database`);
    await Deno.mkdir(this.#uploadsDir, { recursive: true });
    // Written aside and renamed: a half-written file must not be taken for the upload.
    await Deno.writeFile(`${local}.part`, r.rows[0].bytes);
    await Deno.rename(`${local}.part`, local);
    return local;
  }

  async removeUpload(job: Job): Promise<void> {
    await this.#q(`DELETE FROM fer_uploads WHERE job = $1`, [job.id]);
    for (const path of [job.path, join(this.#uploadsDir, job.id)]) await Deno.remove(path).catch(() => {});
  }

  async dropLocalUpload(job: Job): Promise<void> {
    // Only the copy fetched from the database: `job.path` is the receiving replica's own file.
    await Deno.remove(join(this.#uploadsDir, job.id)).catch(() => {});
  }

  /**
   * Listens on {@link CANCEL_CHANNEL} on a connection of its own (a pooled one would be handed to other
   * statements). Resolves once listening or once the first attempt failed; a failed or dropped connection
   * (database down or restarted) is opened again every {@link RELISTEN_MS} until stopped, the heartbeat
   * covering the gap.
   */
  async onCancel(listener: (id: string) => void): Promise<() => Promise<void>> {
    let client: pg.Client | undefined;
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.#url });
      const lost = () => {
        if (client !== c) return;
        client = undefined;
        c.end().catch(() => {});
        if (!stopped) retry = setTimeout(connect, RELISTEN_MS);
      };
      c.on("error", lost);
      c.on("end", lost);
      c.on("notification", (n) => {
        if (n.channel === CANCEL_CHANNEL && n.payload) listener(n.payload);
      });
      client = c;
      try {
        await c.connect();
        await c.query(`LISTEN ${CANCEL_CHANNEL}`);
      } catch {
        lost();
      }
    };
    await connect();
    return async () => {
      stopped = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    };
  }

  async deleteFinishedBefore(at: number): Promise<number> {
    // Frames and uploads go with their job (ON DELETE CASCADE).
    const r = await this.#q(`DELETE FROM fer_jobs WHERE finished_at IS NOT NULL AND finished_at < $1`, [at]);
    return r.rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.#ready?.catch(() => {});
    await this.pool.end();
  }
}
