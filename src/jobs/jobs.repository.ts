import type { EntityManager } from '@mikro-orm/postgresql';
import type { Pool } from 'pg';
import { Batch } from '../db/entities/batch.entity.ts';
import { Job, type JobResult, type JobStatus } from '../db/entities/job.entity.ts';
import { User } from '../db/entities/user.entity.ts';
import type { JobLogLevel } from '../db/entities/job-log.entity.ts';
import { canTransition, sourcesOf } from './jobs.state.ts';

/**
 * Every write of a `jobs` row. Each status change is one conditional statement whose WHERE clause comes from
 * the transition table, returning the row it wrote, so nobody re-reads what they just wrote.
 */

type Row = Record<string, unknown>;

const statusIn = (to: JobStatus) => `status in (${sourcesOf(to).map((s) => `'${s}'`).join(', ')})`;

const date = (value: unknown) => (value == null ? null : value instanceof Date ? value : new Date(String(value)));

/**
 * A job row as the database returned it, as an entity of the caller's entity manager. Filled by hand on a
 * reference rather than through em.map, whose hydration cost more than the rest of a worker's bookkeeping; a
 * reference is never flushed, so nobody writes the row back by accident.
 */
export function toJob(em: EntityManager, row: Row): Job {
  const job = em.getReference(Job, row.id as string);
  Object.assign(job, {
    kind: row.kind,
    status: row.status,
    progress: Number(row.progress),
    statusMessage: row.status_message ?? null,
    input: row.input,
    result: row.result ?? null,
    errorCode: row.error_code ?? null,
    errorMessage: row.error_message ?? null,
    priority: Number(row.priority),
    engine: row.engine ?? null,
    cost: Number(row.cost ?? 0),
    owner: em.getReference(User, row.owner_id as string),
    createdAt: date(row.created_at),
    startedAt: date(row.started_at),
    finishedAt: date(row.finished_at),
    prompt: row.prompt ?? null,
    batch: row.batch_id ? em.getReference(Batch, row.batch_id as string) : null,
    timeoutSeconds: Number(row.timeout_seconds),
    attempt: Number(row.attempt),
    stepDurationsMs: row.step_durations_ms ?? null,
  });
  return job;
}

/** An asset a worker saved (its file already in storage), stored with the job's final statement. */
export interface AssetRow {
  id: string;
  kind: string;
  mime: string;
  bytes: number;
  sha256: string;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
  storageKey: string;
  ownerId: string;
  filename: string | null;
  createdAt: Date;
}

export interface LogRow {
  level: JobLogLevel;
  message: string;
  at: Date;
}

const logRecords = (jobId: string, logs: LogRow[]) =>
  JSON.stringify(logs.map((l) => ({ job_id: jobId, level: l.level, message: l.message.slice(0, 10_000), at: l.at.toISOString() })));

const assetRecords = (jobId: string, assets: AssetRow[]) =>
  JSON.stringify(
    assets.map((a) => ({
      id: a.id,
      kind: a.kind,
      mime: a.mime,
      bytes: a.bytes,
      sha256: a.sha256,
      width: a.width,
      height: a.height,
      duration_seconds: a.durationSeconds,
      storage_key: a.storageKey,
      owner_id: a.ownerId,
      job_id: jobId,
      filename: a.filename,
      created_at: a.createdAt.toISOString(),
    })),
  );

const INSERT_LOGS = `insert into job_logs (job_id, level, message, at)
  select job_id, level, message, at from json_to_recordset(?::json) as l(job_id uuid, level text, message text, at timestamptz)`;

const INSERT_ASSETS = `insert into assets (id, kind, mime, bytes, sha256, width, height, duration_seconds, storage_key, owner_id, job_id, filename, created_at)
  select * from json_to_recordset(?::json) as a(id uuid, kind text, mime varchar(128), bytes bigint, sha256 varchar(64), width int, height int,
    duration_seconds double precision, storage_key varchar(512), owner_id uuid, job_id uuid, filename varchar(255), created_at timestamptz)`;

export interface Started {
  row: Row;
  /** It ran before (a dead worker's, or retried): files of an earlier attempt may be left. */
  runBefore: boolean;
}

/** A queue entry BullMQ gave up on: the attempt it was queued for, and when it failed. */
export interface GivenUpEntry {
  attempt: number;
  failedAt: Date;
}

export interface Finish {
  status: 'COMPLETED' | 'FAILED';
  statusMessage: string;
  progress?: number;
  result?: JobResult | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  stepDurationsMs: number[];
  cost?: number | null;
}

/** The columns toJob reads: named rather than `*`, so a column added later cannot change a prepared statement's result. */
const JOB_COLUMNS = `id, kind, status, progress, status_message, input, result, error_code, error_message, priority, engine, cost, owner_id,
  created_at, started_at, finished_at, prompt, batch_id, timeout_seconds, attempt, step_durations_ms`;

const INSERT_JOB = `insert into jobs (id, kind, status, progress, input, priority, timeout_seconds, prompt, engine, cost, attempt, batch_id, owner_id, created_at)
  values ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13, $14)`;

const START = `with started as (
    update jobs j set status = 'PROCESSING', progress = 0, status_message = 'Started', engine = $1, started_at = now(),
           error_code = null, error_message = null, attempt = j.attempt + (before.previous = 'PROCESSING')::int,
           worker_id = coalesce($2::text, j.worker_id),
           attempt_workers = case when $2::text is null then j.attempt_workers else coalesce(j.attempt_workers, '[]'::jsonb)
             || jsonb_build_array(jsonb_build_object('attempt', j.attempt + (before.previous = 'PROCESSING')::int, 'worker', $2::text,
                  'at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))) end
      from (select id, status as previous from jobs where id = $3 for update) before
     where j.id = before.id and j.${statusIn('PROCESSING')}
     returning ${JOB_COLUMNS.replace(/(\w+)/g, 'j.$1')}, before.previous),
  line as (
    insert into job_logs (job_id, level, message, at)
    select id, 'info', $4::text || ' (attempt ' || (attempt + 1) || ')', now() from started where $4::text is not null)
  select * from started`;

const FINISH = `with done as (
    update jobs set status = $1, status_message = $2, progress = coalesce($3, progress), result = $4::jsonb, error_code = $5, error_message = $6,
           step_durations_ms = $7::jsonb, cost = coalesce($8, cost), finished_at = now()
     where id = $9 and status = 'PROCESSING'
     returning ${JOB_COLUMNS}),
  new_assets as (
    insert into assets (id, kind, mime, bytes, sha256, width, height, duration_seconds, storage_key, owner_id, job_id, filename, created_at)
    select a.* from done, json_to_recordset($10::json) as a(id uuid, kind text, mime varchar(128), bytes bigint, sha256 varchar(64), width int,
      height int, duration_seconds double precision, storage_key varchar(512), owner_id uuid, job_id uuid, filename varchar(255), created_at timestamptz)),
  new_logs as (
    insert into job_logs (job_id, level, message, at)
    select l.job_id, l.level, l.message, l.at from done, json_to_recordset($11::json) as l(job_id uuid, level text, message text, at timestamptz))
  select * from done`;

/**
 * A worker's two statements per job, as named prepared statements on the pool under the ORM: PostgreSQL parses and
 * plans each once per connection instead of once per job. Inside a transaction they go through the entity manager,
 * so they stay in it.
 */
async function prepared(em: EntityManager, name: string, text: string, values: unknown[]): Promise<Row[]> {
  if (em.isInTransaction()) {
    return em.execute<Row[]>(text.replace(/\$\d+/g, '?'), positional(text, values));
  }
  const pool = await (em.getConnection() as unknown as { getNativeClient(): Promise<Pool> }).getNativeClient();
  return (await pool.query({ name, text, values })).rows;
}

/** The values of a `$n` statement in the order its placeholders appear, for a driver that only knows `?`. */
function positional(text: string, values: unknown[]): unknown[] {
  return [...text.matchAll(/\$(\d+)/g)].map((m) => values[Number(m[1]) - 1]);
}

export const jobsRepository = {
  /**
   * Plain INSERT: one statement, no RETURNING (every value is known here). A single job outside a transaction (the
   * common submit) is a prepared statement on the pool; a batch or a quota's transaction goes through the ORM.
   */
  async insert(em: EntityManager, jobs: Job[]): Promise<void> {
    const job = jobs[0];
    if (jobs.length !== 1 || !job || em.isInTransaction()) {
      await em.insertMany(Job, jobs);
      return;
    }
    await prepared(em, 'atelier_jobs_insert', INSERT_JOB, [
      job.id,
      job.kind,
      job.status,
      job.progress,
      JSON.stringify(job.input),
      job.priority,
      job.timeoutSeconds,
      job.prompt ?? null,
      job.engine ?? null,
      job.cost ?? 0,
      job.attempt,
      job.batch?.id ?? null,
      job.owner.id,
      job.createdAt,
    ]);
  },

  /**
   * The worker's first statement: marks the job running (again, after a dead worker) and returns it. With
   * `startLine`, the same statement writes the job's first log line, "<startLine> (attempt N)", so even a run
   * whose worker dies at once leaves its trace. A row found PROCESSING was started by a run that never finished
   * (its worker died or let go of it), so this run is a new attempt. With `worker`, it notes which worker took the
   * run: `worker_id` is the latest, `attempt_workers` every run (a lost worker's run and its replacement both stay).
   */
  async start(em: EntityManager, id: string, engine: string, options: { startLine?: string; worker?: string } = {}): Promise<Started | null> {
    const rows = await prepared(em, 'atelier_jobs_start', START, [engine, options.worker ?? null, id, options.startLine ?? null]);
    const row = rows[0];
    if (!row) return null;
    const { previous, ...job } = row;
    return { row: job, runBefore: previous === 'PROCESSING' || Number(job.attempt) > 0 };
  },

  /** A progress write while the job runs; false once it no longer runs (cancelled, timed out elsewhere). */
  async progress(em: EntityManager, id: string, progress: number, message: string): Promise<boolean> {
    const updated = await em.execute(`update jobs set progress = ?, status_message = ? where id = ? and status = 'PROCESSING'`, [progress, message, id], 'run');
    return (updated as unknown as { affectedRows: number }).affectedRows > 0;
  },

  /**
   * The worker's last statement: the job's new assets and log lines, and its final state, together. Assets and
   * lines go in only if the job was still running (a cancelled job keeps its CANCELLED row and gets nothing).
   */
  async finish(em: EntityManager, id: string, finish: Finish, assets: AssetRow[], logs: LogRow[]): Promise<Row | null> {
    if (!canTransition('PROCESSING', finish.status)) throw new Error(`A running job cannot become ${finish.status}`);
    const rows = await prepared(em, 'atelier_jobs_finish', FINISH, [
      finish.status,
      finish.statusMessage,
      finish.progress ?? null,
      finish.result ? JSON.stringify(finish.result) : null,
      finish.errorCode ?? null,
      finish.errorMessage ?? null,
      JSON.stringify(finish.stepDurationsMs),
      finish.cost ?? null,
      id,
      assetRecords(id, assets),
      logRecords(id, logs),
    ]);
    return rows[0] ?? null;
  },

  /**
   * The last statement of a run whose job was cancelled: the progress it had reached (the row keeps its CANCELLED
   * state and message) and its remaining log lines.
   */
  async abandon(em: EntityManager, id: string, progress: number, logs: LogRow[]): Promise<void> {
    await em.execute(
      `with reached as (update jobs set progress = greatest(progress, ?) where id = ? and status = 'CANCELLED' returning id)
       insert into job_logs (job_id, level, message, at)
       select job_id, level, message, at from json_to_recordset(?::json) as l(job_id uuid, level text, message text, at timestamptz)`,
      [progress, id, logRecords(id, logs)],
      'run',
    );
  },

  /** Log lines of a running job, written in batches by its worker. */
  async appendLogs(em: EntityManager, jobId: string, logs: LogRow[]): Promise<void> {
    if (logs.length) await em.execute(INSERT_LOGS, [logRecords(jobId, logs)], 'run');
  },

  async insertAssets(em: EntityManager, jobId: string, assets: AssetRow[]): Promise<void> {
    if (assets.length) await em.execute(INSERT_ASSETS, [assetRecords(jobId, assets)], 'run');
  },

  /** QUEUED or PROCESSING → CANCELLED; null when the job had already finished. */
  async cancel(em: EntityManager, id: string): Promise<Row | null> {
    const rows = await em.execute<Row[]>(
      `update jobs set status = 'CANCELLED', status_message = 'Cancelled', finished_at = now() where id = ? and ${statusIn('CANCELLED')} returning *`,
      [id],
    );
    return rows[0] ?? null;
  },

  /** FAILED or CANCELLED → QUEUED as the next attempt; null when the job is in neither state. */
  async retry(em: EntityManager, id: string): Promise<Row | null> {
    const rows = await em.execute<Row[]>(
      `update jobs set status = 'QUEUED', progress = 0, status_message = 'Retry ' || (attempt + 1), result = null, error_code = null,
              error_message = null, started_at = null, finished_at = null, step_durations_ms = null, attempt = attempt + 1
        where id = ? and ${statusIn('QUEUED')} returning *`,
      [id],
    );
    return rows[0] ?? null;
  },

  /**
   * A job that will not run (the queue refused it, BullMQ gave up on it, no engine for it) → FAILED, from QUEUED
   * or PROCESSING; null when it had already finished.
   */
  async fail(em: EntityManager, id: string, code: string, message: string, entry?: GivenUpEntry): Promise<Row | null> {
    // An entry BullMQ gave up on must not fail a retry made since (a later attempt, queued or started after the
    // entry failed). A later attempt that started before is the same entry run again after a stall: it fails.
    const rows = await em.execute<Row[]>(
      `update jobs set status = 'FAILED', status_message = 'Failed', error_code = ?, error_message = ?, finished_at = now()
        where id = ? and ${statusIn('FAILED')}${entry ? ` and not (attempt > ? and (status = 'QUEUED' or started_at > ?))` : ''} returning *`,
      [code, message, id, ...(entry ? [entry.attempt, entry.failedAt] : [])],
    );
    return rows[0] ?? null;
  },

  /** Adds engine facts (e.g. ComfyUI's prompt id and server) to a running job's stored input. */
  async annotateInput(em: EntityManager, id: string, fields: Record<string, string | number | boolean | null>): Promise<void> {
    await em.execute(`update jobs set input = input || ?::jsonb where id = ?`, [JSON.stringify(fields), id], 'run');
  },
};
