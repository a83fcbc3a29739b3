import type { Job } from '../db/entities/job.entity.ts';
import type { JobEvent, PubSub } from '../pubsub/pubsub.ts';

export function jobEvent(job: Job, extra: Partial<JobEvent> = {}): JobEvent {
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
    batchId: job.batch?.id ?? null,
    queuePosition: null,
    etaSeconds: null,
    at: new Date().toISOString(),
    ...extra,
  };
}

/**
 * Publishes one change of a job to its own topic, its batch's, and the stream of all jobs: one serialisation,
 * one round trip, in the order the caller publishes.
 */
export async function publishJobEvent(pubsub: PubSub, event: JobEvent): Promise<void> {
  const targets: { topic: 'job' | 'jobs' | 'batch'; key?: string }[] = [{ topic: 'job', key: event.jobId }, { topic: 'jobs' }];
  if (event.batchId) targets.push({ topic: 'batch', key: event.batchId });
  await pubsub.publishAll(targets, event);
}
