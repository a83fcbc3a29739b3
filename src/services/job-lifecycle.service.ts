import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Asset, type AssetKind } from '../db/entities/asset.entity.ts';
import { Job, type JobResult } from '../db/entities/job.entity.ts';
import { JobLog, type JobLogLevel } from '../db/entities/job-log.entity.ts';
import type { PubSub } from '../pubsub/pubsub.ts';
import type { Storage } from '../storage/storage.service.ts';
import { jobEvent, publishJobEvent } from './job.service.ts';
import { assetPath } from './public-url.ts';

export interface NewAsset {
  kind: AssetKind;
  mime: string;
  extension: string;
  data: Buffer;
  width?: number;
  height?: number;
  durationSeconds?: number;
  filename?: string;
}

export const assetUrl = (publicUrl: string, assetId: string) => `${publicUrl}/files/${assetId}`;

/**
 * The transitions a worker makes on a job. Each one writes the row first and then publishes, so a
 * subscriber that sees an event can always read the same state back. Writes after the start are
 * conditional on the job still running: a job cancelled meanwhile keeps its CANCELLED state.
 */
export class JobLifecycle {
  private readonly pubsub: PubSub;
  private readonly storage: Storage;
  private readonly publicUrl: string;

  constructor(deps: { pubsub: PubSub; storage: Storage; publicUrl: string }) {
    this.pubsub = deps.pubsub;
    this.storage = deps.storage;
    this.publicUrl = deps.publicUrl;
  }

  /** Marks the job running; returns null when it must not run (cancelled, or already finished). */
  async start(em: EntityManager, jobId: string, engine: string): Promise<Job | null> {
    const job = await em.findOne(Job, { id: jobId });
    if (!job) return null;
    // Only a job run before (a dead worker's, or one retried) can have files of an earlier attempt.
    const runBefore = job.status === 'PROCESSING' || job.attempt > 0;
    // A job found PROCESSING was left by a worker that died; it starts again from the beginning.
    const started = await em.nativeUpdate(
      Job,
      { id: jobId, status: { $in: ['QUEUED', 'PROCESSING'] } },
      { status: 'PROCESSING', progress: 0, statusMessage: 'Started', engine, startedAt: new Date(), errorCode: null, errorMessage: null },
    );
    if (!started) return null;
    await em.refresh(job);
    // Best effort: a database error here leaves the old files listed on the job, which still runs.
    if (runBefore) await this.removeLeftovers(em, job).catch(() => undefined);
    await this.publish(job);
    return job;
  }

  /**
   * Files an earlier attempt saved before it died, failed or was cancelled: a job that starts again makes
   * all of its outputs anew, so these would otherwise sit beside them as duplicates.
   */
  private async removeLeftovers(em: EntityManager, job: Job) {
    const leftovers = await em.find(Asset, { job: job.id }, { fields: ['id', 'storageKey'] });
    if (!leftovers.length) return;
    // Files first: a row goes only with its file, so a file that cannot be removed stays listed, not orphaned.
    const results = await Promise.allSettled(leftovers.map((a) => this.storage.remove(a.storageKey)));
    const removed = leftovers.filter((_, i) => results[i]!.status === 'fulfilled');
    if (removed.length) await em.nativeDelete(Asset, { id: { $in: removed.map((a) => a.id) } });
    await this.log(em, job, 'warn', `Removed ${removed.length} file(s) an earlier attempt left`);
    const failed = leftovers.length - removed.length;
    if (failed) await this.log(em, job, 'warn', `Could not remove ${failed} file(s) an earlier attempt left; they stay listed on the job`);
  }

  /**
   * Records progress without touching the entity: progress is written by single-column updates that
   * may run beside an asset flush, and a flush must never write back an older value.
   */
  async progress(em: EntityManager, job: Job, progress: number, message: string, etaSeconds: number | null = null): Promise<boolean> {
    const value = Math.max(0, Math.min(100, Math.floor(progress)));
    const updated = await em.nativeUpdate(Job, { id: job.id, status: 'PROCESSING' }, { progress: value, statusMessage: message });
    if (updated) await publishJobEvent(this.pubsub, jobEvent(job, { status: 'PROCESSING', progress: value, message, etaSeconds }));
    return updated > 0;
  }

  async saveAsset(em: EntityManager, job: Job, asset: NewAsset): Promise<Asset> {
    const data = asset.data;
    const row = em.create(Asset, {
      kind: asset.kind,
      mime: asset.mime,
      bytes: data.byteLength,
      sha256: createHash('sha256').update(data).digest('hex'),
      width: asset.width ?? null,
      height: asset.height ?? null,
      durationSeconds: asset.durationSeconds ?? null,
      filename: asset.filename ?? null,
      storageKey: '',
      owner: job.owner,
      job,
    });
    row.storageKey = `assets/${job.owner.id}/${row.id}.${asset.extension}`;
    await this.storage.put(row.storageKey, data);
    try {
      await em.flush();
    } catch (error) {
      await this.storage.remove(row.storageKey);
      throw error;
    }
    return row;
  }

  async log(em: EntityManager, job: Job, level: JobLogLevel, message: string): Promise<void> {
    await em.insert(JobLog, { job: job.id, level, message: message.slice(0, 10_000), at: new Date() });
  }

  /** Returns false when the job was cancelled before it could complete. */
  async complete(em: EntityManager, job: Job, assets: Asset[], extra: Record<string, unknown> = {}, stepDurationsMs: number[] = []) {
    const result: JobResult = {
      ...extra,
      assetIds: assets.map((a) => a.id),
      urls: assets.map((a) => assetPath(a.id)),
    };
    return this.finish(em, job, { status: 'COMPLETED', progress: 100, statusMessage: 'Completed', result, stepDurationsMs });
  }

  async fail(em: EntityManager, job: Job, code: string, message: string, stepDurationsMs: number[] = []) {
    return this.finish(em, job, { status: 'FAILED', statusMessage: 'Failed', errorCode: code, errorMessage: message, stepDurationsMs });
  }

  private async finish(em: EntityManager, job: Job, values: Partial<Job>): Promise<boolean> {
    const finishedAt = new Date();
    const updated = await em.nativeUpdate(Job, { id: job.id, status: 'PROCESSING' }, { ...values, finishedAt } as never);
    if (!updated) return false;
    await em.refresh(job);
    await this.publish(job);
    return true;
  }

  private async publish(job: Job): Promise<void> {
    await publishJobEvent(this.pubsub, jobEvent(job));
  }
}
