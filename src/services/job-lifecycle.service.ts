import type { EntityManager } from '@mikro-orm/postgresql';
import { Asset } from '../db/entities/asset.entity.ts';
import type { Job } from '../db/entities/job.entity.ts';
import type { JobLogLevel } from '../db/entities/job-log.entity.ts';
import { jobEvent, publishJobEvent } from '../jobs/jobs.events.ts';
import type { QueueInfoReader } from '../jobs/jobs.query.ts';
import { type GivenUpEntry, jobsRepository, toJob } from '../jobs/jobs.repository.ts';
import { JobRun, type NewAsset, newAssetRow, toAsset } from '../jobs/jobs.run.ts';
import type { PubSub } from '../pubsub/pubsub.ts';
import type { Storage } from '../storage/storage.service.ts';
import { assetPath } from './public-url.ts';

export type { NewAsset };

/**
 * The transitions a worker makes on a job, over src/jobs. The processor drives a JobRun (two statements per
 * job); the single-step methods here write at once, for callers outside a run. Each writes the row first and
 * then publishes, so a subscriber that sees an event can always read the same state back.
 */
export class JobLifecycle {
  private readonly pubsub: PubSub;
  private readonly storage: Storage;
  private readonly publicUrl: string;
  private readonly queueInfo: QueueInfoReader | undefined;

  constructor(deps: { pubsub: PubSub; storage: Storage; publicUrl: string; queueInfo?: QueueInfoReader }) {
    this.pubsub = deps.pubsub;
    this.storage = deps.storage;
    this.publicUrl = deps.publicUrl;
    this.queueInfo = deps.queueInfo;
  }

  /**
   * Starts a run: the job's first statement, which also logs `startLine` with the attempt number. Files an
   * earlier attempt left are removed next.
   */
  async begin(
    em: EntityManager,
    jobId: string,
    engine: string,
    options: { startLine?: string; worker?: string; onWriteError?: (error: unknown) => void } = {},
  ): Promise<JobRun | null> {
    const deps = { em, pubsub: this.pubsub, storage: this.storage, publicUrl: this.publicUrl, queueInfo: this.queueInfo, onWriteError: options.onWriteError };
    const started = await JobRun.start(deps, jobId, engine, { startLine: options.startLine, worker: options.worker });
    if (!started) return null;
    // Best effort: a database error here leaves the old files listed on the job, which still runs.
    if (started.runBefore) await this.removeLeftovers(em, started.run.job, (message) => started.run.note(message, 'warn')).catch(() => undefined);
    return started.run;
  }

  /** Marks the job running; returns null when it must not run (cancelled, or already finished). */
  async start(em: EntityManager, jobId: string, engine: string, worker?: string): Promise<Job | null> {
    const started = await jobsRepository.start(em, jobId, engine, { worker });
    if (!started) return null;
    const job = toJob(em, started.row);
    if (started.runBefore) await this.removeLeftovers(em, job, (message) => this.log(em, job, 'warn', message)).catch(() => undefined);
    await publishJobEvent(this.pubsub, jobEvent(job));
    return job;
  }

  /**
   * Files an earlier attempt saved before it died, failed or was cancelled: a job that starts again makes
   * all of its outputs anew, so these would otherwise sit beside them as duplicates.
   */
  private async removeLeftovers(em: EntityManager, job: Job, note: (message: string) => unknown) {
    const leftovers = await em.find(Asset, { job: job.id }, { fields: ['id', 'storageKey'] });
    if (!leftovers.length) return;
    // Files first: a row goes only with its file, so a file that cannot be removed stays listed, not orphaned.
    const results = await Promise.allSettled(leftovers.map((a) => this.storage.remove(a.storageKey)));
    const removed = leftovers.filter((_, i) => results[i]!.status === 'fulfilled');
    if (removed.length) await em.nativeDelete(Asset, { id: { $in: removed.map((a) => a.id) } });
    await note(`Removed ${removed.length} file(s) an earlier attempt left`);
    const failed = leftovers.length - removed.length;
    if (failed) await note(`Could not remove ${failed} file(s) an earlier attempt left; they stay listed on the job`);
  }

  /** Writes progress at once (a run throttles its own); false when the job no longer runs. */
  async progress(em: EntityManager, job: Job, progress: number, message: string, etaSeconds: number | null = null): Promise<boolean> {
    const value = Math.max(0, Math.min(100, Math.floor(progress)));
    const updated = await jobsRepository.progress(em, job.id, value, message);
    if (updated) await publishJobEvent(this.pubsub, jobEvent(job, { status: 'PROCESSING', progress: value, message, etaSeconds }));
    return updated;
  }

  /** Stores the file and its row at once (a run stores rows with its finish). */
  async saveAsset(em: EntityManager, job: Job, asset: NewAsset): Promise<Asset> {
    const row = newAssetRow(job, asset);
    await this.storage.put(row.storageKey, asset.data);
    try {
      await jobsRepository.insertAssets(em, job.id, [row]);
    } catch (error) {
      await this.storage.remove(row.storageKey);
      throw error;
    }
    return toAsset(em, row, job);
  }

  async log(em: EntityManager, job: Job, level: JobLogLevel, message: string): Promise<void> {
    await jobsRepository.appendLogs(em, job.id, [{ level, message, at: new Date() }]);
  }

  /** Returns false when the job was cancelled before it could complete. */
  async complete(em: EntityManager, job: Job, assets: Asset[], extra: Record<string, unknown> = {}, stepDurationsMs: number[] = []) {
    const result = { ...extra, assetIds: assets.map((a) => a.id), urls: assets.map((a) => assetPath(a.id)) };
    return this.finish(em, job, { status: 'COMPLETED', statusMessage: 'Completed', progress: 100, result, stepDurationsMs });
  }

  async fail(em: EntityManager, job: Job, code: string, message: string, stepDurationsMs: number[] = []) {
    return this.finish(em, job, { status: 'FAILED', statusMessage: 'Failed', errorCode: code, errorMessage: message, stepDurationsMs });
  }

  /**
   * BullMQ gave up on a job (attempts used up, stalled too often): a row still QUEUED or PROCESSING becomes
   * FAILED with `code`, and subscribers hear it. A row already final is left alone.
   */
  async giveUp(em: EntityManager, jobId: string, code: string, message: string, entry?: GivenUpEntry): Promise<boolean> {
    const row = await jobsRepository.fail(em, jobId, code, message, entry);
    if (!row) return false;
    await publishJobEvent(this.pubsub, jobEvent(toJob(em, row)));
    return true;
  }

  private async finish(em: EntityManager, job: Job, values: Parameters<typeof jobsRepository.finish>[2]): Promise<boolean> {
    const row = await jobsRepository.finish(em, job.id, values, [], []);
    if (!row) return false;
    const finished = toJob(em, row);
    await publishJobEvent(this.pubsub, jobEvent(finished));
    return true;
  }
}
