import { FINAL_JOB_STATUSES, type Job } from '../db/entities/job.entity.ts';
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

/**
 * A worker publishes a step before it hears that its job was cancelled, so a stream of many jobs would show a
 * PROCESSING step after CANCELLED. This predicate drops a job's events after its final one, until the job is
 * queued again (a retry); it remembers the last `capacity` ended jobs. Its verdict on one event object is given
 * once and remembered, so one filter can serve every subscriber of a stream that hands them all the same objects.
 */
export function endedJobsFilter(capacity = 10_000): (event: JobEvent) => boolean {
  const ended = new Set<string>();
  const verdicts = new WeakMap<JobEvent, boolean>();
  const judge = (event: JobEvent) => {
    if (FINAL_JOB_STATUSES.includes(event.status)) {
      ended.add(event.jobId);
      if (ended.size > capacity) ended.delete(ended.values().next().value!);
      return true;
    }
    if (event.status === 'QUEUED') {
      ended.delete(event.jobId);
      return true;
    }
    return !ended.has(event.jobId);
  };
  return (event) => {
    let verdict = verdicts.get(event);
    if (verdict === undefined) {
      verdict = judge(event);
      verdicts.set(event, verdict);
    }
    return verdict;
  };
}
