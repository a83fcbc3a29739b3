import { randomInt } from 'node:crypto';
import type { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { JOB_KINDS, JOB_STATUSES, Job, type JobKind, type JobStatus } from '../db/entities/job.entity.ts';
import { User } from '../db/entities/user.entity.ts';
import type { JobEvent, PubSub } from '../pubsub/pubsub.ts';
import { enqueueGeneration, type GenerationQueue } from '../queue/queue.producer.ts';
import { type Actor, canSeeOwnedBy, isAdmin } from './actor.ts';
import { AppError, forbidden, notFound } from './errors.ts';
import { generateImageInput, MAX_SEED, type GenerateImageInput, type ImageJobInput } from './generation.inputs.ts';
import { afterCursor, parsePageArgs, toPage, type Page, type PageArgs } from './pagination.ts';
import { isUuid, parseInput } from './validation.ts';

export interface JobFilter extends PageArgs {
  status?: JobStatus | null;
  kind?: JobKind | null;
}

const jobFilter = z.object({
  status: z.enum(JOB_STATUSES).nullish(),
  kind: z.enum(JOB_KINDS).nullish(),
});

export function jobEvent(job: Job): JobEvent {
  return {
    jobId: job.id,
    ownerId: job.owner.id,
    kind: job.kind,
    status: job.status,
    progress: job.progress,
    message: job.statusMessage ?? null,
    result: job.result ?? null,
    errorCode: job.errorCode ?? null,
    errorMessage: job.errorMessage ?? null,
    at: new Date().toISOString(),
  };
}

/** Publishes one change of a job to its own topic and to the stream of all jobs. */
export async function publishJobEvent(pubsub: PubSub, event: JobEvent): Promise<void> {
  await Promise.all([pubsub.publish('job', event.jobId, event), pubsub.publish('jobs', undefined, event)]);
}

export class JobService {
  private readonly queue: GenerationQueue;
  private readonly pubsub: PubSub;

  constructor(queue: GenerationQueue, pubsub: PubSub) {
    this.queue = queue;
    this.pubsub = pubsub;
  }

  async createImageJob(em: EntityManager, actor: Actor, raw: GenerateImageInput): Promise<Job> {
    const { priority, ...request } = parseInput(generateImageInput, raw);
    const input: ImageJobInput = {
      ...request,
      negativePrompt: request.negativePrompt ?? null,
      seed: request.seed ?? randomInt(0, MAX_SEED),
    };
    return this.submit(em, actor, 'IMAGE', { ...input }, priority);
  }

  /** Stores the job, then queues it; if the queue cannot take it, the row says so rather than vanishing. */
  private async submit(em: EntityManager, actor: Actor, kind: JobKind, input: Record<string, unknown>, priority: number) {
    const job = em.create(Job, { kind, input, priority, owner: em.getReference(User, actor.userId) });
    await em.flush();
    try {
      await enqueueGeneration(this.queue, job);
    } catch (error) {
      job.status = 'FAILED';
      job.errorCode = 'QUEUE_UNAVAILABLE';
      job.errorMessage = 'The job queue is unavailable; the job was not queued. Retry later.';
      job.finishedAt = new Date();
      await em.flush();
      throw new AppError('SERVICE_UNAVAILABLE', job.errorMessage, { jobId: job.id, cause: (error as Error).message });
    }
    await publishJobEvent(this.pubsub, jobEvent(job)).catch(() => undefined);
    return job;
  }

  async getJob(em: EntityManager, actor: Actor, id: string): Promise<Job> {
    const job = isUuid(id) ? await em.findOne(Job, { id }) : null;
    if (!job) throw notFound('Job', id);
    if (!canSeeOwnedBy(actor, job.owner.id)) throw forbidden(`Job ${id} belongs to another user`);
    return job;
  }

  async listJobs(em: EntityManager, actor: Actor, args: JobFilter): Promise<Page<Job>> {
    const { limit, after } = parsePageArgs(args);
    const filter = parseInput(jobFilter, { status: args.status, kind: args.kind });
    const where: FilterQuery<Job>[] = [];
    if (!isAdmin(actor)) where.push({ owner: actor.userId });
    if (filter.status) where.push({ status: filter.status });
    if (filter.kind) where.push({ kind: filter.kind });
    if (after) where.push(afterCursor(after));
    const rows = await em.find(Job, { $and: where }, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 });
    return toPage(rows, limit, after !== null);
  }

  /** A live stream of one job's changes, starting with its current state and ending at a final state. */
  async watchJob(em: EntityManager, actor: Actor, id: string): Promise<AsyncIterableIterator<JobEvent>> {
    await this.getJob(em, actor, id);
    const events = await this.pubsub.subscribe('job', id);
    // Read after subscribing: any later change arrives as an event, none falls in between.
    em.clear();
    const snapshot = jobEvent(await this.getJob(em, actor, id));
    return untilFinal(snapshot, events);
  }

  /** A live stream of changes to the caller's jobs (every job, for an admin). */
  async watchJobs(actor: Actor): Promise<AsyncIterableIterator<JobEvent>> {
    const events = await this.pubsub.subscribe('jobs');
    return filterEvents(events, (event) => canSeeOwnedBy(actor, event.ownerId));
  }
}

const isFinal = (status: JobStatus) => status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED';

function untilFinal(first: JobEvent, rest: AsyncIterableIterator<JobEvent>): AsyncIterableIterator<JobEvent> {
  let sentFirst = false;
  let finished = false;
  let lastProgress = first.progress;
  const done = { value: undefined, done: true } as IteratorReturnResult<undefined>;
  const finish = async () => {
    finished = true;
    await rest.return?.();
  };
  const iterator: AsyncIterableIterator<JobEvent> = {
    async next() {
      if (finished) return done;
      if (!sentFirst) {
        sentFirst = true;
        if (isFinal(first.status)) await finish();
        return { value: first, done: false };
      }
      for (;;) {
        const step = await rest.next();
        if (step.done) return finish().then(() => done);
        const event = step.value;
        // Events may be delivered out of order across publishers; never show progress going back.
        if (!isFinal(event.status) && event.status === 'PROCESSING' && event.progress < lastProgress) continue;
        lastProgress = event.progress;
        if (isFinal(event.status)) await finish();
        return { value: event, done: false };
      }
    },
    async return() {
      await finish();
      return done;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

function filterEvents(source: AsyncIterableIterator<JobEvent>, keep: (event: JobEvent) => boolean): AsyncIterableIterator<JobEvent> {
  const iterator: AsyncIterableIterator<JobEvent> = {
    async next() {
      for (;;) {
        const step = await source.next();
        if (step.done || keep(step.value)) return step;
      }
    },
    return: async () => (await source.return?.()) ?? { value: undefined, done: true },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
