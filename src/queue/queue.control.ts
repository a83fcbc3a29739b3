import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { JOB_KINDS, Job } from '../db/entities/job.entity.ts';
import { type Actor, canSeeOwnedBy, isAdmin } from '../services/actor.ts';
import { AppError, badInput, forbidden, notFound } from '../services/errors.ts';
import type { JobService } from '../services/job.service.ts';
import { isUuid, parseInput } from '../services/validation.ts';
import { ENGINE_FAMILIES, type EngineFamily, isEngineFamily } from './queue.names.ts';
import { type GenerationQueues, queueJobId } from './queue.producer.ts';

export interface QueueState {
  engine: EngineFamily;
  paused: boolean;
  /** Entries not yet taken by a worker (waiting, prioritised, delayed for a retry). */
  waiting: number;
  running: number;
  /** Of those waiting, the ones waiting for a retry. */
  delayed: number;
  /** Failed entries BullMQ still keeps. */
  failed: number;
}

export interface CancelFilter {
  status?: 'QUEUED' | 'PROCESSING' | null;
  engine?: string | null;
  kind?: (typeof JOB_KINDS)[number] | null;
  batchId?: string | null;
  /** Admins only: whose jobs; all users' when absent. */
  userId?: string | null;
}

const cancelFilter = z.object({
  status: z.enum(['QUEUED', 'PROCESSING']).nullish(),
  engine: z.string().trim().min(1).max(64).nullish(),
  kind: z.enum(JOB_KINDS).nullish(),
  batchId: z.uuid().nullish(),
  userId: z.uuid().nullish(),
});

/** At most this many jobs are cancelled by one call; the answer says how many, and the caller can call again. */
const MAX_CANCEL = 1000;

/** Operator control of the generation queues: pause and resume an engine family, reorder, cancel in bulk. */
export class QueueControl {
  private readonly queues: GenerationQueues;
  private readonly jobs: JobService;

  constructor(deps: { queues: GenerationQueues; jobs: JobService }) {
    this.queues = deps.queues;
    this.jobs = deps.jobs;
  }

  private family(engine: string): EngineFamily {
    if (!isEngineFamily(engine)) throw badInput(`Unknown engine "${engine}". Available: ${ENGINE_FAMILIES.join(', ')}`, { field: 'engine' });
    return engine;
  }

  async state(engine: string): Promise<QueueState> {
    const family = this.family(engine);
    const queue = this.queues.get(family);
    const [paused, counts] = await Promise.all([queue.isPaused(), queue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'failed')]);
    return {
      engine: family,
      paused,
      waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0),
      running: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      failed: counts.failed ?? 0,
    };
  }

  async states(): Promise<QueueState[]> {
    return Promise.all(ENGINE_FAMILIES.map((family) => this.state(family)));
  }

  /** Workers finish what they run and take nothing new from the family's queue until it is resumed. */
  async pause(actor: Actor, engine: string): Promise<QueueState> {
    if (!isAdmin(actor)) throw forbidden('Only admins can pause a queue');
    await this.queues.get(this.family(engine)).pause();
    return this.state(engine);
  }

  async resume(actor: Actor, engine: string): Promise<QueueState> {
    if (!isAdmin(actor)) throw forbidden('Only admins can resume a queue');
    await this.queues.get(this.family(engine)).resume();
    return this.state(engine);
  }

  /** Moves a queued job within its queue: 1 runs first, 10 last. */
  async setPriority(em: EntityManager, actor: Actor, id: string, priority: number): Promise<Job> {
    if (!Number.isInteger(priority) || priority < 1 || priority > 10) throw badInput('priority must be an integer from 1 to 10', { field: 'priority' });
    const job = isUuid(id) ? await em.findOne(Job, { id }) : null;
    if (!job) throw notFound('Job', id);
    if (!canSeeOwnedBy(actor, job.owner.id)) throw forbidden(`Job ${id} belongs to another user`);
    const updated = await em.nativeUpdate(Job, { id, status: 'QUEUED' }, { priority });
    if (!updated) throw new AppError('CONFLICT', `Only a queued job can be reprioritised; job ${id} is ${job.status}`, { status: job.status });
    const entry = await this.queues.of(job).getJob(queueJobId(job));
    // A worker may take it between the two writes; then the new priority no longer matters.
    const placed = this.queues.placement ? await this.queues.placement(this.queues.of(job), priority, job.owner.id) : priority;
    await entry?.changePriority({ priority: placed }).catch(() => undefined);
    await em.refresh(job);
    return job;
  }

  /** Cancels the caller's queued and running jobs that match (an admin's: anyone's). */
  async cancelMany(em: EntityManager, actor: Actor, raw: CancelFilter): Promise<Job[]> {
    const filter = parseInput(cancelFilter, raw);
    if (filter.userId && !isAdmin(actor)) throw forbidden("Only admins can cancel another user's jobs");
    const where: FilterQuery<Job> = { status: filter.status ? filter.status : { $in: ['QUEUED', 'PROCESSING'] } };
    if (!isAdmin(actor)) where.owner = actor.userId;
    else if (filter.userId) where.owner = filter.userId;
    if (filter.engine) where.engine = filter.engine;
    if (filter.kind) where.kind = filter.kind;
    if (filter.batchId) where.batch = filter.batchId;
    const matching = await em.find(Job, where, { orderBy: { createdAt: 'asc', id: 'asc' }, limit: MAX_CANCEL, fields: ['id'] });
    const cancelled: Job[] = [];
    for (const { id } of matching) {
      try {
        cancelled.push(await this.jobs.cancelJob(em, actor, id));
      } catch (error) {
        // Finished while we got to it: nothing to cancel.
        if (!(error instanceof AppError && error.code === 'CONFLICT')) throw error;
      }
    }
    return cancelled;
  }
}
