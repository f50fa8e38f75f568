/**
 * The job stores: where video jobs, their queue, their uploads and their per-frame results live. The runner and
 * the job service use only the {@link JobBackend} interface; two implementations, chosen by DATABASE_URL:
 *
 * - {@link JobStore} here, the embedded default: one SQLite file (Deno's `node:sqlite`) in DATA_DIR, results
 *   written in chunks as the runner produces them, uploads as files. One process owns it, so its leases are
 *   implicit: jobs survive a restart, and on open the jobs that were running are queued again and resume after
 *   their last stored frame. Its methods answer synchronously.
 * - `PgJobStore` (src/jobs/store_pg.ts): PostgreSQL shared by any number of replicas; a run holds a lease on its
 *   job (owner + expiry, renewed by heartbeats), and a job whose lease expired is claimed by another replica,
 *   which resumes it after its last stored frame.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import type { AnalyzedImage } from "../classify.ts";
import type { Problem } from "../errors.ts";
import type { VideoMeta } from "./ffmpeg.ts";
import type { JobWebhook, WebhookAttempt } from "./webhook.ts";
import type { SMOOTHING_METHODS } from "../smoothing.ts";

/** Where a job is in its life. */
export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** The analysis options of a job: the frames endpoint's options plus the sampling of the video. */
export interface JobOptions {
  model?: string;
  detect: boolean;
  maxFaces: number;
  detector?: string;
  minFaceSize: number;
  minConfidence: number;
  landmarks: boolean;
  attention: boolean;
  track: boolean;
  smoothing: (typeof SMOOTHING_METHODS)[number];
  alpha: number;
  window: number;
  /** Frames per second sampled from the video. */
  fps: number;
  /** Seconds. */
  start: number;
  end?: number;
}

/** One job as stored. */
export interface Job {
  id: string;
  /** Who submitted it (`key:<key>` or `addr:<address>`); with API keys, a key sees only its own jobs. */
  owner: string;
  idempotencyKey?: string;
  status: JobStatus;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  options: JobOptions;
  /** The model that analyses the frames (resolved when the job was submitted). */
  model: { id: string; version: string; trained: boolean };
  video: VideoMeta;
  /** Size frames are decoded at. */
  frameSize: { width: number; height: number };
  /** The uploaded file (deleted when the job ends). */
  path: string;
  done: number;
  total: number;
  /** Frames per second of the current run (analysis rate). */
  rate?: number;
  error?: Problem;
  /** The completion webhook, when one was given, with its delivery attempts. */
  webhook?: JobWebhook;
}

/** A value, or a promise of it: the SQLite store answers at once, Postgres later; callers await either. */
export type Maybe<T> = T | Promise<T>;

/** Options of {@link JobBackend.setStatus}. */
export interface SetStatusOptions {
  error?: Problem;
  total?: number;
  at?: number;
  /**
   * The lease holder making the change: it applies only while `worker` holds the job's lease and the job is
   * running (a replica whose job was taken over or cancelled elsewhere changes nothing). Absent: the job changes
   * unless it already ended (a cancel from any replica).
   */
  worker?: string;
}

/** The job store interface (see the module note). A method of a shared store rejects when the database does. */
export interface JobBackend {
  /** True when other processes share the store (Postgres): the runner then also polls it for work. */
  readonly shared: boolean;
  /** Stores a new job; a shared store also keeps its upload (`job.path`) where every replica can read it. */
  insert(job: Job): Maybe<void>;
  /** Appends a webhook delivery attempt to a job's record. */
  addWebhookAttempt(id: string, attempt: WebhookAttempt): Maybe<void>;
  /** Finished jobs with a webhook, oldest first (the caller decides which still need a delivery). */
  finishedWithWebhook(): Maybe<Job[]>;
  /** A job by id. */
  get(id: string): Maybe<Job | undefined>;
  /** The job `owner` submitted with `key`, if any. */
  byIdempotencyKey(owner: string, key: string): Maybe<Job | undefined>;
  /** Recent jobs, newest first, `limit` from `offset`; only `owner`'s when given. */
  list(query: { owner?: string; limit: number; offset: number }): Maybe<Job[]>;
  /** Sets the status and the fields that go with it; false when nothing changed (see `worker`). */
  setStatus(id: string, status: JobStatus, options?: SetStatusOptions): Maybe<boolean>;
  /**
   * Claims the oldest job that is queued (or, shared, running under an expired lease) for `worker` for
   * `leaseMs`: it is returned `running`, or undefined when there is none. Two claimers never get the same job.
   */
  claim(worker: string, leaseMs: number): Maybe<Job | undefined>;
  /** Renews `worker`'s lease on a running job; false when it was lost (taken over, cancelled, ended). */
  renew(id: string, worker: string, leaseMs: number): Maybe<boolean>;
  /** Gives a running job back to the queue at once (a replica shutting down), only while `worker` holds it. */
  release(id: string, worker: string): Maybe<void>;
  /**
   * Stores analysed frames at indexes `from`.. and moves `done` past them, in one transaction; with `worker`,
   * only while it holds the lease and `done` is `from` (false otherwise: nothing stored).
   */
  appendFrames(
    id: string,
    from: number,
    frames: readonly AnalyzedImage[],
    rate?: number,
    worker?: string,
  ): Maybe<boolean>;
  /** The stored frames of a job from index `from` (to the last stored one), in order. */
  frames(id: string, from?: number): Maybe<AnalyzedImage[]>;
  /**
   * Queues again the jobs a previous process left running (SQLite: all of them; shared: those whose lease
   * expired, the others belong to live replicas); returns their ids, oldest first.
   */
  requeueRunning(): Maybe<string[]>;
  /** A path on this machine holding the job's upload (a shared store fetches it when this replica lacks it). */
  upload(job: Job): Maybe<string>;
  /** Deletes a job's upload (the job ended): from the store and from this machine. */
  removeUpload(job: Job): Maybe<void>;
  /**
   * Deletes only this machine's copy of a shared upload (a replica whose job went to another one); the store
   * keeps the upload for the replica that runs the job now. Absent: there is no separate copy.
   */
  dropLocalUpload?(job: Job): Maybe<void>;
  /**
   * Calls `listener` with the id of every job cancelled by any replica, as soon as the cancel is written (a
   * shared store; absent otherwise). Resolves to the function that stops listening.
   */
  onCancel?(listener: (id: string) => void): Promise<() => Promise<void>>;
  /** Deletes the jobs that finished before `at` (ms since the epoch) with their frames; returns how many. */
  deleteFinishedBefore(at: number): Maybe<number>;
  /** Closes the store. */
  close(): Maybe<void>;
}

/** True for a status a job does not leave. */
export function isFinalStatus(status: JobStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "cancelled";
}

/**
 * A job's row as either backend returns it: SQLite gives numbers and JSON text; PostgreSQL gives int8 columns as
 * strings (pg keeps them exact; ms since the epoch fit a double) and the jsonb webhook as an object.
 */
export interface JobRow {
  id: string;
  owner: string;
  idem: string | null;
  status: JobStatus;
  created_at: number | string;
  started_at: number | string | null;
  finished_at: number | string | null;
  body: string;
  done: number;
  total: number;
  rate: number | null;
  error: string | null;
  webhook: string | Job["webhook"] | null;
}

/** The job a row holds (both backends). */
export function jobFromRow(r: JobRow): Job {
  const body = JSON.parse(r.body) as Pick<Job, "options" | "model" | "video" | "frameSize" | "path">;
  return {
    id: r.id,
    owner: r.owner,
    ...(r.idem ? { idempotencyKey: r.idem } : {}),
    status: r.status,
    createdAt: Number(r.created_at),
    ...(r.started_at !== null ? { startedAt: Number(r.started_at) } : {}),
    ...(r.finished_at !== null ? { finishedAt: Number(r.finished_at) } : {}),
    ...body,
    done: r.done,
    total: r.total,
    ...(r.rate !== null ? { rate: r.rate } : {}),
    ...(r.error ? { error: JSON.parse(r.error) } : {}),
    ...(r.webhook ? { webhook: typeof r.webhook === "string" ? JSON.parse(r.webhook) : r.webhook } : {}),
  };
}

/**
 * A new job's column values in the order both backends insert them: id, owner, idem, status, created_at, body
 * (options, model, video, frame size, upload path as JSON), done, total, webhook.
 */
export function jobInsertValues(job: Job): (string | number | null)[] {
  return [
    job.id,
    job.owner,
    job.idempotencyKey ?? null,
    job.status,
    job.createdAt,
    JSON.stringify({
      options: job.options,
      model: job.model,
      video: job.video,
      frameSize: job.frameSize,
      path: job.path,
    }),
    job.done,
    job.total,
    job.webhook ? JSON.stringify(job.webhook) : null,
  ];
}

/** The embedded job store over one SQLite database (see the module note). */
export class JobStore implements JobBackend {
  readonly shared = false;
  readonly db: DatabaseSync;

  /** Opens (creating) `jobs.sqlite` in `dir`, which must exist. */
  constructor(dir: string) {
    this.db = new DatabaseSync(join(dir, "jobs.sqlite"));
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL, idem TEXT, status TEXT NOT NULL,
        created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, body TEXT NOT NULL,
        done INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0, rate REAL, error TEXT,
        UNIQUE (owner, idem)
      );
      CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner, created_at);
      CREATE TABLE IF NOT EXISTS frames (
        job TEXT NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (job, idx)
      ) WITHOUT ROWID;
    `);
    // Stores made before webhooks existed get the column (SQLite has no ADD COLUMN IF NOT EXISTS).
    const columns = this.db.prepare(`PRAGMA table_info(jobs)`).all() as { name: string }[];
    if (!columns.some((c) => c.name === "webhook")) this.db.exec(`ALTER TABLE jobs ADD COLUMN webhook TEXT`);
  }

  /** Stores a new job. */
  insert(job: Job): void {
    this.db.prepare(
      `INSERT INTO jobs (id, owner, idem, status, created_at, body, done, total, webhook)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(...jobInsertValues(job));
  }

  /** Appends a webhook delivery attempt to a job's record. */
  addWebhookAttempt(id: string, attempt: WebhookAttempt): void {
    this.db.prepare(
      `UPDATE jobs SET webhook = json_set(webhook, '$.attempts[#]', json(?)) WHERE id = ? AND webhook IS NOT NULL`,
    ).run(JSON.stringify(attempt), id);
  }

  /** Finished jobs with a webhook, oldest first (the caller decides which still need a delivery). */
  finishedWithWebhook(): Job[] {
    const rows = this.db.prepare(
      `SELECT * FROM jobs WHERE webhook IS NOT NULL AND finished_at IS NOT NULL ORDER BY finished_at`,
    ).all() as unknown as JobRow[];
    return rows.map(jobFromRow);
  }

  /** A job by id. */
  get(id: string): Job | undefined {
    const r = this.db.prepare(`SELECT * FROM jobs WHERE id = ?`).get(id) as JobRow | undefined;
    return r ? jobFromRow(r) : undefined;
  }

  /** The job `owner` submitted with `key`, if any. */
  byIdempotencyKey(owner: string, key: string): Job | undefined {
    const r = this.db.prepare(`SELECT * FROM jobs WHERE owner = ? AND idem = ?`).get(owner, key) as
      | JobRow
      | undefined;
    return r ? jobFromRow(r) : undefined;
  }

  /** Recent jobs, newest first, `limit` from `offset`; only `owner`'s when given. */
  list({ owner, limit, offset }: { owner?: string; limit: number; offset: number }): Job[] {
    const rows =
      (owner === undefined
        ? this.db.prepare(`SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`).all(
          limit,
          offset,
        )
        : this.db.prepare(
          `SELECT * FROM jobs WHERE owner = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
        )
          .all(owner, limit, offset)) as unknown as JobRow[];
    return rows.map(jobFromRow);
  }

  /**
   * Sets the status and the fields that go with it. With `worker` (a run of this process, whose lease is
   * implicit) only while the job is running; false when nothing changed.
   */
  setStatus(
    id: string,
    status: JobStatus,
    { error, total, at = Date.now(), worker }: SetStatusOptions = {},
  ): boolean {
    const final = isFinalStatus(status);
    const r = this.db.prepare(
      `UPDATE jobs SET status = ?,
         started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) ELSE started_at END,
         finished_at = CASE WHEN ? THEN ? ELSE finished_at END,
         error = COALESCE(?, error), total = COALESCE(?, total)
       WHERE id = ?${worker === undefined ? "" : " AND status = 'running'"}`,
    ).run(status, status, at, final ? 1 : 0, at, error ? JSON.stringify(error) : null, total ?? null, id);
    return Number(r.changes) > 0;
  }

  /** Claims the oldest queued job (synchronous statements: nothing runs between the read and the update). */
  claim(_worker: string, _leaseMs: number): Job | undefined {
    const id = this.queued()[0];
    if (id === undefined) return undefined;
    this.setStatus(id, "running");
    return this.get(id);
  }

  /** True while the job is running (one process: the lease cannot be taken over). */
  renew(id: string, _worker: string, _leaseMs: number): boolean {
    return this.get(id)?.status === "running";
  }

  /** Queues a running job again. */
  release(id: string, _worker: string): void {
    this.db.prepare(`UPDATE jobs SET status = 'queued' WHERE id = ? AND status = 'running'`).run(id);
  }

  /** The upload's file in DATA_DIR. */
  upload(job: Job): string {
    return job.path;
  }

  /** Deletes the upload's file. */
  removeUpload(job: Job): Promise<void> {
    return Deno.remove(job.path).catch(() => {});
  }

  /** Appends analysed frames from index `from` and moves `done` past them, in one transaction. */
  appendFrames(
    id: string,
    from: number,
    frames: readonly AnalyzedImage[],
    rate?: number,
    _worker?: string,
  ): boolean {
    const insert = this.db.prepare(`INSERT OR REPLACE INTO frames (job, idx, data) VALUES (?, ?, ?)`);
    this.db.exec("BEGIN");
    try {
      frames.forEach((f, k) => insert.run(id, from + k, JSON.stringify(f)));
      this.db.prepare(`UPDATE jobs SET done = ?, rate = COALESCE(?, rate) WHERE id = ?`).run(
        from + frames.length,
        rate ?? null,
        id,
      );
      this.db.exec("COMMIT");
      return true;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  /** The stored frames of a job from index `from` (to the last stored one), in order. */
  frames(id: string, from = 0): AnalyzedImage[] {
    const rows = this.db.prepare(`SELECT data FROM frames WHERE job = ? AND idx >= ? ORDER BY idx`).all(
      id,
      from,
    ) as { data: string }[];
    return rows.map((r) => JSON.parse(r.data));
  }

  /** Queues again every job left `running` by a previous process; returns their ids, oldest first. */
  requeueRunning(): string[] {
    const rows = this.db.prepare(`SELECT id FROM jobs WHERE status = 'running' ORDER BY created_at`)
      .all() as {
        id: string;
      }[];
    this.db.prepare(`UPDATE jobs SET status = 'queued' WHERE status = 'running'`).run();
    return rows.map((r) => r.id);
  }

  /** The ids of the queued jobs, oldest first. */
  queued(): string[] {
    return (this.db.prepare(`SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at, id`).all() as {
      id: string;
    }[]).map((r) => r.id);
  }

  /** Deletes the jobs that finished before `at` (ms since the epoch) with their frames; returns how many. */
  deleteFinishedBefore(at: number): number {
    this.db.exec("BEGIN");
    try {
      this.db.prepare(
        `DELETE FROM frames WHERE job IN (SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?)`,
      ).run(at);
      const r = this.db.prepare(`DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?`).run(at);
      this.db.exec("COMMIT");
      return Number(r.changes);
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  /** Closes the database. */
  close(): void {
    this.db.close();
  }
}
