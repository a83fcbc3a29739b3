import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Job } from '../db/entities/job.entity.ts';
import { ENGINE_FAMILIES, type EngineFamily, GENERATION_JOB_NAMES, type GenerationPayload, generationQueueName, isEngineFamily } from './queue.names.ts';

export type GenerationQueue = Queue<GenerationPayload>;

/** One BullMQ queue per engine family over a shared connection. */
export class GenerationQueues {
  /** Where a user's job goes within its priority (src/jobs/jobs.fairness.ts); plain priority order without it. */
  placement?: (queue: GenerationQueue, priority: number, userId: string) => Promise<number>;
  private readonly queues = new Map<EngineFamily, GenerationQueue>();
  private readonly connection: Redis;
  private readonly prefix: string;

  constructor(connection: Redis, prefix: string) {
    this.connection = connection;
    this.prefix = prefix;
    // Opened up front: a queue opened during a Redis outage would wait for Redis instead of failing fast.
    for (const family of ENGINE_FAMILIES) this.get(family);
  }

  get(family: EngineFamily): GenerationQueue {
    let queue = this.queues.get(family);
    if (!queue) {
      queue = new Queue<GenerationPayload>(generationQueueName(family), {
        connection: this.connection,
        prefix: this.prefix,
        defaultJobOptions: {
          // The Job row is the record; BullMQ keeps only a short tail for debugging.
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 5000 },
          // An engine's own failure is final (the worker raises it as unrecoverable). Anything else — the
          // database or Redis gone while a job ran — is retried later from the start, so no job is lost.
          attempts: 5,
          backoff: { type: 'exponential', delay: 2000 },
        },
      });
      this.queues.set(family, queue);
    }
    return queue;
  }

  /** The queue a stored job belongs to. */
  of(job: Pick<Job, 'engine'>): GenerationQueue {
    const family = job.engine ?? 'builtin';
    if (!isEngineFamily(family)) throw new Error(`Job has an unknown engine "${family}"`);
    return this.get(family);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}

type QueuedJob = Pick<Job, 'id' | 'kind' | 'priority' | 'attempt' | 'engine'> & Partial<Pick<Job, 'owner'>>;

/** The queue entry of one attempt of a job: enqueueing the same attempt twice is a no-op. */
export const queueJobId = (job: Pick<Job, 'id' | 'attempt'>) => (job.attempt ? `${job.id}_${job.attempt}` : job.id);

/** Queue priority follows BullMQ: 1 runs first, 10 last. */
export async function enqueueGeneration(queues: GenerationQueues, job: QueuedJob) {
  const queue = queues.of(job);
  const priority = queues.placement && job.owner ? await queues.placement(queue, job.priority, job.owner.id) : job.priority;
  await queue.add(GENERATION_JOB_NAMES[job.kind], { jobId: job.id }, { jobId: queueJobId(job), priority });
}

/** Removes a job's queue entry if it is still waiting; a running (locked) entry stays and is stopped by its worker. */
export async function dequeueGeneration(queues: GenerationQueues, job: QueuedJob): Promise<boolean> {
  const entry = await queues.of(job).getJob(queueJobId(job));
  if (!entry) return false;
  try {
    await entry.remove();
    return true;
  } catch {
    return false;
  }
}
