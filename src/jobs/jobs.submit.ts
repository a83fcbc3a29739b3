import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Batch } from '../db/entities/batch.entity.ts';
import { Job, type JobKind } from '../db/entities/job.entity.ts';
import { User } from '../db/entities/user.entity.ts';
import type { PubSub } from '../pubsub/pubsub.ts';
import { type EngineFamily, ENGINE_FAMILIES, isEngineFamily } from '../queue/queue.names.ts';
import { enqueueGeneration, type GenerationQueues } from '../queue/queue.producer.ts';
import type { Actor } from '../services/actor.ts';
import { AppError, badInput } from '../services/errors.ts';
import type { QuotaService } from '../services/quota.service.ts';
import { jobEvent, publishJobEvent } from './jobs.events.ts';
import { jobsRepository, toJob } from './jobs.repository.ts';
import { enginesFor } from './jobs.state.ts';

/** A resolved request: everything a new row needs besides its owner. */
export interface Submission {
  kind: JobKind;
  input: object;
  priority: number;
  timeout: number;
  prompt: string | null;
  engine: EngineFamily;
  batch?: Batch;
}

/** A quota the request counts against; `check` throws when it has no room. */
export interface QuotaCheck {
  kind: 'IMAGE' | 'VIDEO';
  check: () => Promise<void> | undefined;
}

/** Queue entries held back while something must be in place before a job can start (see holdingQueue). */
const held = new AsyncLocalStorage<(() => Promise<void>)[]>();

/**
 * Runs `submit` with the queue entries of the jobs it stores held back, then `before(value)`, then queues them,
 * whether `before` succeeded or not: a webhook attached to a job exists before the job can start, so it hears every
 * event, and a job whose attachment failed is still queued rather than left behind.
 */
export async function holdingQueue<T>(submit: () => Promise<T>, before: (value: T) => Promise<void>): Promise<T> {
  const pending: (() => Promise<void>)[] = [];
  const release = async () => {
    const results = await Promise.allSettled(pending.splice(0).map((enqueue) => enqueue()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  let value: T;
  try {
    value = await held.run(pending, submit);
  } catch (error) {
    await release().catch(() => undefined);
    throw error;
  }
  try {
    await before(value);
  } catch (error) {
    await release().catch(() => undefined);
    throw error;
  }
  await release();
  return value;
}

/** The engine family named, refused here when it cannot run this kind, rather than failing later on a worker. */
export function requireEngine(kind: JobKind, engine: string): EngineFamily {
  if (!isEngineFamily(engine)) {
    throw badInput(`Unknown engine "${engine}". Available: ${ENGINE_FAMILIES.join(', ')}`, { field: 'engine' });
  }
  const able = enginesFor(kind);
  if (!able.includes(engine)) {
    throw badInput(`The ${engine} engine cannot run ${kind} jobs. Engines that can: ${able.join(', ')}`, { field: 'engine', engines: [...able] });
  }
  return engine;
}

/**
 * The write side of a submission: one INSERT on one connection and one queue entry, in the common case. Only a
 * daily limit or a batch needs a transaction.
 */
export class JobSubmitter {
  private readonly queues: GenerationQueues;
  private readonly pubsub: PubSub;
  private readonly quotas: QuotaService | undefined;

  constructor(deps: { queues: GenerationQueues; pubsub: PubSub; quotas?: QuotaService }) {
    this.queues = deps.queues;
    this.pubsub = deps.pubsub;
    this.quotas = deps.quotas;
  }

  async submit(em: EntityManager, actor: Actor, submission: Submission, quota?: QuotaCheck): Promise<Job> {
    const job = newJob(em, actor, submission);
    await this.store(em, actor, quota, [job]);
    await this.enqueue(em, job);
    return job;
  }

  /** A batch and its jobs are stored whole or not at all. */
  async submitBatch(
    em: EntityManager,
    actor: Actor,
    spec: { priority: number; metadata: unknown; submissions: Submission[] },
    quota?: QuotaCheck,
  ): Promise<Batch> {
    const batch = em.create(
      Batch,
      {
        id: randomUUID(),
        owner: em.getReference(User, actor.userId),
        priority: spec.priority,
        metadata: (spec.metadata ?? null) as Batch['metadata'],
        total: spec.submissions.length,
        createdAt: new Date(),
      },
      { persist: false },
    );
    const jobs = spec.submissions.map((s) => newJob(em, actor, { ...s, batch }));
    await this.store(em, actor, quota, jobs, batch);
    await Promise.all(jobs.map((job) => this.enqueue(em, job)));
    return batch;
  }

  /** A failed or cancelled job queued again; null when the job is in no state to be retried. */
  async retry(em: EntityManager, id: string): Promise<Job | null> {
    const row = await jobsRepository.retry(em, id);
    if (!row) return null;
    const queued = toJob(em, row);
    await this.enqueue(em, queued);
    return queued;
  }

  /**
   * Its check holds the user's quota lock until commit, so two requests at a daily limit cannot both count the
   * same room; without a daily limit no transaction is opened.
   */
  private async store(em: EntityManager, actor: Actor, quota: QuotaCheck | undefined, jobs: Job[], batch?: Batch): Promise<void> {
    const daily = quota && this.quotas ? await this.quotas.hasDailyLimit(em, actor, quota.kind) : false;
    if (!daily && !batch) {
      await quota?.check();
      await jobsRepository.insert(em, jobs);
      return;
    }
    await em.begin();
    try {
      await quota?.check();
      if (batch) await em.insert(Batch, batch);
      await jobsRepository.insert(em, jobs);
      await em.commit();
    } catch (error) {
      await em.rollback();
      throw error;
    }
  }

  /**
   * QUEUED goes out on the same Redis connection just before the queue entry, so no worker can start (and
   * announce PROCESSING) before it. If the queue cannot take the job, the row says so rather than vanishing.
   */
  private async enqueue(em: EntityManager, job: Job): Promise<void> {
    const hold = held.getStore();
    if (hold) {
      hold.push(() => this.enqueueNow(em, job));
      return;
    }
    await this.enqueueNow(em, job);
  }

  private async enqueueNow(em: EntityManager, job: Job): Promise<void> {
    const announced = publishJobEvent(this.pubsub, jobEvent(job)).catch(() => undefined);
    try {
      await enqueueGeneration(this.queues, job);
    } catch (error) {
      await announced;
      const message = 'The job queue is unavailable; the job was not queued. Retry later.';
      const row = await jobsRepository.fail(em, job.id, 'QUEUE_UNAVAILABLE', message);
      if (row) await publishJobEvent(this.pubsub, jobEvent(toJob(em, row))).catch(() => undefined);
      throw new AppError('SERVICE_UNAVAILABLE', message, { jobId: job.id, cause: (error as Error).message });
    }
    await announced;
  }
}

/** Every column set here, so storing the row needs no RETURNING and no re-read. */
function newJob(em: EntityManager, actor: Actor, submission: Submission): Job {
  return em.create(
    Job,
    {
      id: randomUUID(),
      kind: submission.kind,
      status: 'QUEUED',
      progress: 0,
      input: submission.input as Record<string, unknown>,
      priority: submission.priority,
      timeoutSeconds: submission.timeout,
      prompt: submission.prompt,
      engine: submission.engine,
      cost: 0,
      attempt: 0,
      batch: submission.batch ?? null,
      owner: em.getReference(User, actor.userId),
      createdAt: new Date(),
    },
    { persist: false },
  );
}
