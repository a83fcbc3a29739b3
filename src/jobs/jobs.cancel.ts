import type { EntityManager } from '@mikro-orm/postgresql';
import type { Job } from '../db/entities/job.entity.ts';
import type { CancelRequest, PubSub } from '../pubsub/pubsub.ts';
import { dequeueGeneration, type GenerationQueues } from '../queue/queue.producer.ts';
import { jobEvent, publishJobEvent } from './jobs.events.ts';
import { jobsRepository, toJob } from './jobs.repository.ts';

/**
 * Cancel requests for the jobs a worker process is running, over one subscription for the whole process
 * (not one SUBSCRIBE/UNSUBSCRIBE pair per job).
 */
export class CancelListener {
  private readonly pubsub: PubSub;
  private readonly running = new Map<string, Set<() => void>>();
  private subscription: Promise<AsyncIterableIterator<CancelRequest>> | undefined;

  constructor(pubsub: PubSub) {
    this.pubsub = pubsub;
  }

  /** Resolves once the subscription is confirmed: a cancel published after that reaches this process. */
  private ready(): Promise<unknown> {
    if (!this.subscription) {
      const subscription = this.pubsub.subscribe('cancel');
      this.subscription = subscription;
      subscription.then(
        (requests) =>
          void (async () => {
            for await (const request of requests) for (const stop of this.running.get(request.jobId) ?? []) stop();
          })().catch(() => undefined),
        () => {
          if (this.subscription === subscription) this.subscription = undefined;
        },
      );
    }
    return this.subscription;
  }

  /** Calls `stop` when the job is cancelled, until the returned function is called. */
  async watch(jobId: string, stop: () => void): Promise<() => void> {
    await this.ready();
    let set = this.running.get(jobId);
    if (!set) {
      set = new Set();
      this.running.set(jobId, set);
    }
    set.add(stop);
    return () => {
      set.delete(stop);
      if (!set.size && this.running.get(jobId) === set) this.running.delete(jobId);
    };
  }

  async close(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    await (await subscription?.catch(() => undefined))?.return?.();
  }
}

const listeners = new WeakMap<PubSub, CancelListener>();

/** The process's one listener on this pubsub. */
export function cancelListener(pubsub: PubSub): CancelListener {
  let listener = listeners.get(pubsub);
  if (!listener) {
    listener = new CancelListener(pubsub);
    listeners.set(pubsub, listener);
  }
  return listener;
}

/**
 * Cancels a job that has not finished; null when it already has. A waiting entry is removed from its queue; a
 * running one is locked by its worker, which hears the cancel request and stops at its next step.
 */
export async function cancelJob(deps: { queues: GenerationQueues; pubsub: PubSub }, em: EntityManager, id: string): Promise<Job | null> {
  const row = await jobsRepository.cancel(em, id);
  if (!row) return null;
  const cancelled = toJob(em, row);
  await dequeueGeneration(deps.queues, cancelled).catch(() => false);
  await deps.pubsub.publish('cancel', undefined, { jobId: id }).catch(() => undefined);
  await publishJobEvent(deps.pubsub, jobEvent(cancelled)).catch(() => undefined);
  return cancelled;
}
