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

/** Queue priority follows BullMQ: 1 runs first, 10 last. */
export async function enqueueGeneration(queue: GenerationQueue, job: Pick<Job, 'id' | 'kind' | 'priority'>) {
  // The BullMQ job id is the row id, so enqueueing the same job twice is a no-op.
  await queue.add(GENERATION_JOB_NAMES[job.kind], { jobId: job.id }, { jobId: job.id, priority: job.priority });
}
