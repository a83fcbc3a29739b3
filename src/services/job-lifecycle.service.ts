import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Asset, type AssetKind } from '../db/entities/asset.entity.ts';
import { Job, type JobResult } from '../db/entities/job.entity.ts';
import type { PubSub } from '../pubsub/pubsub.ts';
import type { Storage } from '../storage/storage.service.ts';
import { jobEvent, publishJobEvent } from './job.service.ts';

export interface NewAsset {
  kind: AssetKind;
  mime: string;
  extension: string;
  data: Buffer;
  width?: number;
  height?: number;
  durationSeconds?: number;
}

export const assetUrl = (publicUrl: string, assetId: string) => `${publicUrl}/files/${assetId}`;

/**
 * The transitions a worker makes on a job. Each one writes the row first and then publishes, so a
 * subscriber that sees an event can always read the same state back.
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
    if (!job || job.status === 'CANCELLED' || job.status === 'COMPLETED') return null;
    // A job found PROCESSING was left by a worker that died; it starts again from the beginning.
    Object.assign(job, {
      status: 'PROCESSING',
      progress: 0,
      statusMessage: 'Started',
      engine,
      startedAt: new Date(),
      errorCode: null,
      errorMessage: null,
    });
    await em.flush();
    await this.publish(job);
    return job;
  }

  /**
   * Records progress without touching the entity: progress is written by single-column updates that
   * may run beside an asset flush, and a flush must never write back an older value.
   */
  async progress(em: EntityManager, job: Job, progress: number, message: string): Promise<void> {
    const value = Math.max(0, Math.min(100, Math.floor(progress)));
    await em.nativeUpdate(Job, { id: job.id, status: 'PROCESSING' }, { progress: value, statusMessage: message });
    await publishJobEvent(this.pubsub, { ...jobEvent(job), progress: value, message });
  }

  async saveAsset(em: EntityManager, job: Job, asset: NewAsset): Promise<Asset> {
    const row = em.create(Asset, {
      kind: asset.kind,
      mime: asset.mime,
      bytes: asset.data.byteLength,
      sha256: createHash('sha256').update(asset.data).digest('hex'),
      width: asset.width ?? null,
      height: asset.height ?? null,
      durationSeconds: asset.durationSeconds ?? null,
      storageKey: '',
      owner: job.owner,
      job,
    });
    row.storageKey = `assets/${job.owner.id}/${row.id}.${asset.extension}`;
    await this.storage.put(row.storageKey, asset.data);
    try {
      await em.flush();
    } catch (error) {
      await this.storage.remove(row.storageKey);
      throw error;
    }
    return row;
  }

  async complete(em: EntityManager, job: Job, assets: Asset[], extra: Record<string, unknown> = {}): Promise<void> {
    const result: JobResult = {
      ...extra,
      assetIds: assets.map((a) => a.id),
      urls: assets.map((a) => assetUrl(this.publicUrl, a.id)),
    };
    Object.assign(job, { status: 'COMPLETED', progress: 100, statusMessage: 'Completed', result, finishedAt: new Date() });
    await em.flush();
    await this.publish(job);
  }

  async fail(em: EntityManager, job: Job, code: string, message: string): Promise<void> {
    Object.assign(job, { status: 'FAILED', statusMessage: 'Failed', errorCode: code, errorMessage: message, finishedAt: new Date() });
    await em.flush();
    await this.publish(job);
  }

  private async publish(job: Job): Promise<void> {
    await publishJobEvent(this.pubsub, jobEvent(job));
  }
}
