import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Job } from '../db/entities/job.entity.ts';
import { GENERATION_JOB_NAMES, GENERATION_QUEUE, type GenerationPayload } from './queue.names.ts';

export type GenerationQueue = Queue<GenerationPayload>;

export function createGenerationQueue(connection: Redis, prefix: string): GenerationQueue {
  return new Queue<GenerationPayload>(GENERATION_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: {
      // The Job row is the record; BullMQ keeps only a short tail for debugging.
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
    },
  });
}

/** The queue entry of one attempt of a job: enqueueing the same attempt twice is a no-op. */
export const queueJobId = (job: Pick<Job, 'id' | 'attempt'>) => (job.attempt ? `${job.id}_${job.attempt}` : job.id);

/** Queue priority follows BullMQ: 1 runs first, 10 last. */
export async function enqueueGeneration(queue: GenerationQueue, job: Pick<Job, 'id' | 'kind' | 'priority' | 'attempt'>) {
  await queue.add(GENERATION_JOB_NAMES[job.kind], { jobId: job.id }, { jobId: queueJobId(job), priority: job.priority });
}

/** Removes a job's queue entry if it is still waiting; a running (locked) entry stays and is stopped by its worker. */
export async function dequeueGeneration(queue: GenerationQueue, job: Pick<Job, 'id' | 'attempt'>): Promise<boolean> {
  const entry = await queue.getJob(queueJobId(job));
  if (!entry) return false;
  try {
    await entry.remove();
    return true;
  } catch {
    return false;
  }
}
