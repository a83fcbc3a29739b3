import type { CancelRequest, PubSub } from '../pubsub/pubsub.ts';

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
