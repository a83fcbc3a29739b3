import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Asset } from '../db/entities/asset.entity.ts';
import type { Job, JobResult } from '../db/entities/job.entity.ts';
import type { JobLogLevel } from '../db/entities/job-log.entity.ts';
import type { PubSub } from '../pubsub/pubsub.ts';
import type { Storage } from '../storage/storage.service.ts';
import { jobEvent, publishJobEvent } from './jobs.events.ts';
import type { QueueInfoReader } from './jobs.query.ts';
import { type AssetRow, jobsRepository, type LogRow, toJob } from './jobs.repository.ts';
import { assetPath } from '../services/public-url.ts';

export interface NewAsset {
  kind: Asset['kind'];
  mime: string;
  extension: string;
  data: Buffer;
  width?: number;
  height?: number;
  durationSeconds?: number;
  filename?: string;
}


/** Progress reaches the row at most this often per job; every step is still published. */
export const PROGRESS_WRITE_INTERVAL_MS = 250;
/** Log lines of a running job reach the database in batches at most this often (and all at its end). */
export const LOG_FLUSH_INTERVAL_MS = 1000;

export interface RunDeps {
  em: EntityManager;
  pubsub: PubSub;
  storage: Storage;
  publicUrl: string;
  queueInfo?: QueueInfoReader;
  onWriteError?: (error: unknown) => void;
}

/**
 * One attempt of a job on a worker, from its start statement to its finish statement. Between them nothing
 * waits on the database: steps are published at once and written to the row at most every
 * PROGRESS_WRITE_INTERVAL_MS, log lines are batched, and new assets' rows go in with the finish.
 */
export class JobRun {
  readonly job: Job;
  private readonly deps: RunDeps;
  private readonly assets: AssetRow[] = [];
  private logs: LogRow[] = [];
  private latest: { progress: number; message: string } | null = null;
  private lastWriteAt = 0;
  private progressTimer: NodeJS.Timeout | undefined;
  private logTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(deps: RunDeps, job: Job) {
    this.deps = deps;
    this.job = job;
    // The start statement wrote progress 0: a job shorter than the interval writes progress only with its finish.
    this.lastWriteAt = Date.now();
  }

  /** The start statement; null when the job must not run (cancelled, finished, or gone). */
  static async start(deps: RunDeps, jobId: string, engine: string, on: { startLine?: string; worker?: string } = {}): Promise<{ run: JobRun; runBefore: boolean } | null> {
    const started = await jobsRepository.start(deps.em, jobId, engine, on);
    if (!started) return null;
    const run = new JobRun(deps, toJob(deps.em, started.row));
    // Not awaited: later events of this run go out on the same connection after it, so order holds.
    void publishJobEvent(deps.pubsub, jobEvent(run.job)).catch(deps.onWriteError);
    return { run, runBefore: started.runBefore };
  }

  progress(percent: number, message: string, etaSeconds: number | null = null): void {
    if (this.stopped) return;
    const progress = Math.max(0, Math.min(100, Math.floor(percent)));
    this.job.progress = progress;
    this.job.statusMessage = message;
    void publishJobEvent(this.deps.pubsub, jobEvent(this.job, { status: 'PROCESSING', progress, message, etaSeconds })).catch(this.deps.onWriteError);
    this.latest = { progress, message };
    if (this.progressTimer) return;
    const wait = Math.max(0, this.lastWriteAt + PROGRESS_WRITE_INTERVAL_MS - Date.now());
    this.progressTimer = setTimeout(() => {
      this.progressTimer = undefined;
      this.chain(() => this.writeProgress());
    }, wait);
  }

  private async writeProgress() {
    const latest = this.latest;
    this.latest = null;
    if (!latest || this.stopped) return;
    this.lastWriteAt = Date.now();
    await jobsRepository.progress(this.deps.em, this.job.id, latest.progress, latest.message);
  }

  note(message: string, level: JobLogLevel = 'info'): void {
    this.logs.push({ level, message, at: new Date() });
    this.logTimer ??= setTimeout(() => {
      this.logTimer = undefined;
      this.chain(() => this.flushLogs());
    }, LOG_FLUSH_INTERVAL_MS);
  }

  private async flushLogs() {
    const logs = this.logs;
    this.logs = [];
    await jobsRepository.appendLogs(this.deps.em, this.job.id, logs);
  }

  private chain(write: () => Promise<void>) {
    this.writing = this.writing.then(write).catch((error) => this.deps.onWriteError?.(error));
  }

  /** Writes the file now; its row is stored with the job's finish. */
  async saveAsset(asset: NewAsset): Promise<Asset> {
    const row = newAssetRow(this.job, asset);
    await this.deps.storage.put(row.storageKey, asset.data);
    this.assets.push(row);
    return toAsset(this.deps.em, row, this.job);
  }

  /** Stops timers and waits for writes in flight, so the finish is the last statement. */
  private async settle() {
    this.stopped = true;
    clearTimeout(this.progressTimer);
    clearTimeout(this.logTimer);
    this.progressTimer = undefined;
    this.logTimer = undefined;
    await this.writing;
  }

  /** The finish statement for a completed job; false when it was cancelled meanwhile (its new files go). */
  async complete(assets: Asset[], extra: Record<string, unknown>, stepDurationsMs: number[], cost: number | null): Promise<boolean> {
    const result: JobResult = { ...extra, assetIds: assets.map((a) => a.id), urls: assets.map((a) => assetPath(a.id)) };
    return this.finish({ status: 'COMPLETED', statusMessage: 'Completed', progress: 100, result, stepDurationsMs, cost });
  }

  async fail(code: string, message: string, stepDurationsMs: number[], cost: number | null): Promise<boolean> {
    return this.finish({ status: 'FAILED', statusMessage: 'Failed', errorCode: code, errorMessage: message, stepDurationsMs, cost });
  }

  /** The job was cancelled: the progress it reached and its log lines are kept, the files it made go. */
  async abandon(): Promise<void> {
    await this.settle();
    await this.removeFiles();
    await jobsRepository.abandon(this.deps.em, this.job.id, this.job.progress, this.logs.splice(0));
  }

  private async finish(values: Parameters<typeof jobsRepository.finish>[2]): Promise<boolean> {
    await this.settle();
    const row = await jobsRepository.finish(this.deps.em, this.job.id, values, this.assets, this.logs.splice(0));
    if (!row) {
      await this.removeFiles();
      return false;
    }
    const job = toJob(this.deps.em, row);
    // Both on the publisher connection, pipelined in one round trip.
    await Promise.all([
      publishJobEvent(this.deps.pubsub, jobEvent(job)),
      job.status === 'COMPLETED' && job.startedAt && job.finishedAt
        ? this.deps.queueInfo?.recordRun(job.kind, job.finishedAt.getTime() - job.startedAt.getTime()).catch(() => undefined)
        : undefined,
    ]);
    return true;
  }

  private async removeFiles() {
    await Promise.allSettled(this.assets.splice(0).map((a) => this.deps.storage.remove(a.storageKey)));
  }
}

export function newAssetRow(job: Job, asset: NewAsset): AssetRow {
  const id = randomUUID();
  return {
    id,
    kind: asset.kind,
    mime: asset.mime,
    bytes: asset.data.byteLength,
    sha256: createHash('sha256').update(asset.data).digest('hex'),
    width: asset.width ?? null,
    height: asset.height ?? null,
    durationSeconds: asset.durationSeconds ?? null,
    storageKey: `assets/${job.owner.id}/${id}.${asset.extension}`,
    ownerId: job.owner.id,
    filename: asset.filename ?? null,
    createdAt: new Date(),
  };
}

export function toAsset(em: EntityManager, row: AssetRow, job: Job): Asset {
  return em.create(
    Asset,
    {
      id: row.id,
      kind: row.kind as Asset['kind'],
      mime: row.mime,
      bytes: row.bytes,
      sha256: row.sha256,
      width: row.width,
      height: row.height,
      durationSeconds: row.durationSeconds,
      storageKey: row.storageKey,
      owner: job.owner,
      job,
      filename: row.filename,
      createdAt: row.createdAt,
    },
    { persist: false },
  );
}
