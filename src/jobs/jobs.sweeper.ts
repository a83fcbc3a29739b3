import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Orm } from '../db/orm.ts';
import { Job } from '../db/entities/job.entity.ts';
import { JobLog } from '../db/entities/job-log.entity.ts';
import type { PubSub } from '../pubsub/pubsub.ts';
import { enqueueGeneration, type GenerationQueues, queueJobId } from '../queue/queue.producer.ts';
import { jobEvent, publishJobEvent } from './jobs.events.ts';
import type { WorkerRegistry } from '../services/worker-registry.service.ts';
import type { Storage } from '../storage/storage.service.ts';
import { every, takeRoundLease } from '../system/periodic.ts';
import { sweepOrphanFiles } from './files.sweeper.ts';
import { isUuid } from '../services/validation.ts';

const FILE_SWEEP_EVERY_MS = 60 * 60_000;


export interface SweepReport {
  /** QUEUED rows that had no queue entry (their API died between saving and queueing), now queued. */
  requeued: string[];
  /** Workers declared lost by this sweep, with the jobs they were running. */
  lost: { worker: string; jobs: string[] }[];
}

/**
 * Repairs what a process killed at the wrong moment leaves behind, from whichever worker gets to it first:
 * - a QUEUED row with no queue entry is queued (adds are idempotent by job id, so a race with its API is harmless);
 * - a worker whose heartbeat is declared lost gets its running jobs marked ("worker X lost; re-queued") and logged at
 *   once. BullMQ hands them to another worker when the lost worker's lock lapses; the lock is not broken here, since
 *   a worker that was only stalled (not dead) still holds it and must not have its job run twice.
 */
export class JobSweeper {
  private readonly deps: {
    orm: Orm;
    redis: Redis;
    queues: GenerationQueues;
    workers: WorkerRegistry;
    pubsub: PubSub;
    prefix: string;
    log: Logger;
    /** A QUEUED row younger than this may still be on its way into the queue. */
    orphanAfterMs: number;
    /** With it, stored files no row names are swept too, by one machine an hour. */
    storage?: Storage;
  };

  constructor(deps: JobSweeper['deps']) {
    this.deps = deps;
  }

  async sweep(): Promise<SweepReport> {
    const em = this.deps.orm.em.fork() as EntityManager;
    return { lost: await this.sweepLostWorkers(em), requeued: await this.sweepOrphans(em) };
  }

  private async sweepLostWorkers(em: EntityManager): Promise<SweepReport['lost']> {
    const lost: SweepReport['lost'] = [];
    for (const worker of await this.deps.workers.list()) {
      if (worker.status !== 'LOST') continue;
      // One sweeper per lost worker, whichever machine sees it first; the claim outlives the registry entry. Keyed by
      // its start too: in containers a restarted worker often comes back with the same host name and pid.
      const claimed = await this.deps.redis.set(`${this.deps.prefix}:worker-lost:${worker.id}:${worker.startedAt}`, '1', 'PX', 15 * 60_000, 'NX');
      if (claimed !== 'OK') continue;
      const running = worker.runningJobs.filter(isUuid);
      // Its rows name it; a job its last beat listed counts only while no other worker has taken it since.
      const jobs = await em.find(Job, {
        status: 'PROCESSING',
        $or: [{ workerId: worker.id }, ...(running.length ? [{ id: { $in: running }, workerId: null }] : [])],
      });
      const message = `Worker ${worker.id} lost; re-queued`;
      for (const job of jobs) {
        const marked = await em.nativeUpdate(Job, { id: job.id, status: 'PROCESSING' }, { progress: 0, statusMessage: message });
        if (!marked) continue;
        await em.insert(JobLog, { job: job.id, level: 'warn', message, at: new Date() });
        await em.refresh(job);
        await publishJobEvent(this.deps.pubsub, jobEvent(job)).catch(() => undefined);
      }
      this.deps.log.warn({ worker: worker.id, jobs: jobs.map((j) => j.id) }, `worker ${worker.id} lost; re-queued`);
      lost.push({ worker: worker.id, jobs: jobs.map((j) => j.id) });
    }
    return lost;
  }

  private async sweepOrphans(em: EntityManager): Promise<string[]> {
    const before = new Date(Date.now() - this.deps.orphanAfterMs);
    const candidates = await em.find(
      Job,
      { status: 'QUEUED', createdAt: { $lt: before } },
      { fields: ['id', 'kind', 'priority', 'attempt', 'engine'], orderBy: { createdAt: 'asc' }, limit: 200 },
    );
    const requeued: string[] = [];
    const present = await Promise.all(
      candidates.map((job) => this.deps.redis.exists(this.deps.queues.of(job).toKey(queueJobId(job)))),
    );
    for (const [i, job] of candidates.entries()) {
      if (present[i]) continue;
      await enqueueGeneration(this.deps.queues, job);
      requeued.push(job.id);
    }
    if (requeued.length) this.deps.log.warn({ jobs: requeued }, `${requeued.length} queued job(s) had no queue entry; re-queued`);
    return requeued;
  }

  /**
   * Sweeps every `intervalMs` on one machine at a time (a short Redis lease); a failed sweep is logged and the next
   * one tries again.
   */
  start(intervalMs: number): { stop(): Promise<void> } {
    return every(
      intervalMs,
      async () => {
        if (await takeRoundLease(this.deps.redis, `${this.deps.prefix}:sweeper`, intervalMs)) await this.sweep();
        const storage = this.deps.storage;
        if (storage && (await this.deps.redis.set(`${this.deps.prefix}:file-sweeper`, '1', 'PX', FILE_SWEEP_EVERY_MS, 'NX')) === 'OK') {
          await sweepOrphanFiles(this.deps.orm.em.fork() as EntityManager, storage, { olderThanMs: FILE_SWEEP_EVERY_MS, log: this.deps.log });
        }
      },
      (error) => this.deps.log.warn({ err: error }, 'job sweep failed'),
    );
  }
}
