import type { EntityManager } from '@mikro-orm/postgresql';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Asset } from '../db/entities/asset.entity.ts';
import type { Orm } from '../db/orm.ts';
import type { IdempotencyService } from '../jobs/jobs.idempotency.ts';
import { MAINTENANCE_QUEUE_NAME, RETENTION_JOB_NAME } from '../queue/queue.names.ts';
import { type Actor, canSeeOwnedBy, hasScope } from '../services/actor.ts';
import { forbidden, notFound } from '../services/errors.ts';
import { isUuid } from '../services/validation.ts';
import type { Storage } from './storage.service.ts';

/** Rows go only with their files: a file that cannot be removed keeps its row, so it is never orphaned unlisted. */
async function removeAssets(em: EntityManager, storage: Storage, assets: Pick<Asset, 'id' | 'storageKey'>[]): Promise<number> {
  const results = await Promise.allSettled(assets.map((a) => storage.remove(a.storageKey)));
  const removed = assets.filter((_, i) => results[i]!.status === 'fulfilled').map((a) => a.id);
  if (removed.length) await em.nativeDelete(Asset, { id: { $in: removed } });
  return removed.length;
}

/** Deleting files on request, sweeping those past ASSET_RETENTION_DAYS, and what each user stores. */
export class AssetRetention {
  private readonly storage: Storage;

  constructor(storage: Storage) {
    this.storage = storage;
  }

  async deleteAsset(em: EntityManager, actor: Actor, id: string): Promise<boolean> {
    if (!hasScope(actor, 'generate')) throw forbidden('This API key lacks the "generate" scope');
    const asset = isUuid(id) ? await em.findOne(Asset, { id }) : null;
    if (!asset) throw notFound('Asset', id);
    if (!canSeeOwnedBy(actor, asset.owner.id)) throw forbidden(`Asset ${id} belongs to another user`);
    await this.storage.remove(asset.storageKey);
    await em.nativeDelete(Asset, { id });
    em.getUnitOfWork().unsetIdentity(asset);
    return true;
  }

  /** Removes files (and rows) created before `cutoff`, a batch at a time; returns how many went. */
  async sweep(em: EntityManager, cutoff: Date, batchSize = 500): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await em.find(Asset, { createdAt: { $lt: cutoff } }, { fields: ['id', 'storageKey'], orderBy: { createdAt: 'asc' }, limit: batchSize });
      if (!batch.length) return total;
      const removed = await removeAssets(em, this.storage, batch);
      total += removed;
      em.clear();
      // Files that would not go stay for the next sweep instead of being retried in a loop.
      if (removed < batch.length) return total;
    }
  }

  async bytesStored(em: EntityManager, userId: string): Promise<number> {
    const [row] = await em.getConnection().execute<{ bytes: string | number | null }[]>(`select coalesce(sum(bytes), 0) as bytes from assets where owner_id = ?`, [userId]);
    return Number(row?.bytes ?? 0);
  }
}

/**
 * The scheduled sweep a worker process runs: hourly (one scheduler for the whole deployment, whichever
 * worker takes each run), removing files older than ASSET_RETENTION_DAYS and idempotency keys past their time.
 */
export async function startMaintenance(deps: {
  orm: Orm;
  retention: AssetRetention;
  idempotency: IdempotencyService;
  connection: Redis;
  prefix: string;
  retentionDays: number | undefined;
  everyMs?: number;
  log: Logger;
}) {
  const queue = new Queue(MAINTENANCE_QUEUE_NAME, { connection: deps.connection, prefix: deps.prefix });
  await queue.upsertJobScheduler(
    'hourly-sweep',
    { every: deps.everyMs ?? 3_600_000 },
    { name: RETENTION_JOB_NAME, opts: { removeOnComplete: { count: 24 }, removeOnFail: { count: 24 } } },
  );
  const worker = new Worker(
    MAINTENANCE_QUEUE_NAME,
    async () => {
      const em = deps.orm.em.fork() as EntityManager;
      const keys = await deps.idempotency.sweep(em);
      const days = deps.retentionDays;
      const assets = days ? await deps.retention.sweep(em, new Date(Date.now() - days * 86_400_000)) : 0;
      if (assets || keys) deps.log.info({ assets, idempotencyKeys: keys, retentionDays: days ?? null }, 'maintenance sweep removed expired items');
      return { assets, idempotencyKeys: keys };
    },
    { connection: deps.connection, prefix: deps.prefix, concurrency: 1 },
  );
  worker.on('error', (error) => deps.log.error({ err: error }, 'maintenance worker error'));
  await worker.waitUntilReady();
  return {
    queue,
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
