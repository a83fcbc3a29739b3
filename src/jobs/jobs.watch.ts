import type { EntityManager } from '@mikro-orm/postgresql';
import type { Job } from '../db/entities/job.entity.ts';
import { type EventStream, filterStream } from '../pubsub/event-stream.ts';
import type { JobEvent, PubSub } from '../pubsub/pubsub.ts';
import { type Actor, canSeeOwnedBy } from '../services/actor.ts';
import { endedJobsFilter, jobEvent } from './jobs.events.ts';
import { type BatchProgress, isFinalStatus, type JobReader } from './jobs.read.ts';

/** Live streams of jobs and batches, each starting from the current state, so no change falls in between. */
export class JobWatcher {
  private readonly pubsub: PubSub;
  private readonly reader: JobReader;
  /**
   * One for every `jobs` subscriber of this process, not one each: all of them see the same events in the same
   * order, so the verdict on an event is the same for each, and is reached once (per event object).
   */
  private readonly notEnded = endedJobsFilter();

  constructor(deps: { pubsub: PubSub; reader: JobReader }) {
    this.pubsub = deps.pubsub;
    this.reader = deps.reader;
  }

  /** One job's changes, starting with its current state and ending at a final state. */
  async watchJob(em: EntityManager, actor: Actor, id: string): Promise<EventStream<JobEvent>> {
    await this.reader.getJob(em, actor, id);
    const events = await this.pubsub.subscribe('job', id);
    // Read after subscribing: any later change arrives as an event, none falls in between.
    em.clear();
    const job = await this.reader.getJob(em, actor, id);
    const snapshot = jobEvent(job, await this.reader.queueInfo(job));
    return untilFinal(snapshot, events);
  }

  /** Changes to the caller's jobs (every job, for an admin). */
  async watchJobs(actor: Actor): Promise<EventStream<JobEvent>> {
    const events = await this.pubsub.subscribe('jobs');
    // Asked of every event (the filter must see each job's final event), whoever may see it.
    return filterStream(events, (event) => this.notEnded(event) && canSeeOwnedBy(actor, event.ownerId));
  }

  /** The batch's aggregate now, then again after each change of one of its jobs, until all have finished. */
  async watchBatch(em: EntityManager, actor: Actor, id: string): Promise<AsyncIterableIterator<BatchProgress>> {
    const batch = await this.reader.getBatch(em, actor, id);
    const events = await this.pubsub.subscribe('batch', id);
    const reader = this.reader;
    let sentFirst = false;
    let finished = false;
    const done = { value: undefined, done: true } as IteratorReturnResult<undefined>;
    const aggregate = async () => {
      const progress = await reader.batchProgress(em.fork(), batch);
      if (progress.status !== 'QUEUED' && progress.status !== 'PROCESSING') {
        finished = true;
        await events.return?.();
      }
      return { value: progress, done: false as const };
    };
    const iterator: AsyncIterableIterator<BatchProgress> = {
      async next() {
        if (finished) return done;
        if (!sentFirst) {
          sentFirst = true;
          return aggregate();
        }
        const step = await events.next();
        if (step.done) return done;
        return aggregate();
      },
      async return() {
        finished = true;
        await events.return?.();
        return done;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /**
   * Waits until the job reaches a final state or `timeoutMs` passes, and returns the job as it then is
   * (the REST faces answer synchronously when the client is willing to wait).
   */
  async awaitJob(em: EntityManager, actor: Actor, jobOrId: Job | string, timeoutMs: number): Promise<Job> {
    // Not waiting: the job just submitted is what the client gets, without reading it back.
    if (timeoutMs <= 0 && typeof jobOrId !== 'string') return jobOrId;
    const id = typeof jobOrId === 'string' ? jobOrId : jobOrId.id;
    if (timeoutMs > 0) {
      const events = await this.watchJob(em, actor, id);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      try {
        for (;;) {
          const step = await Promise.race([events.next(), timedOut]);
          if (step === 'timeout' || step.done || isFinalStatus(step.value.status)) break;
        }
      } finally {
        clearTimeout(timer);
        await events.return?.();
      }
    }
    em.clear();
    return this.reader.getJob(em, actor, id);
  }
}

/**
 * `first` (the job's state when the watch began), then the job's events until its final one; progress within one
 * run never goes back. Pulled or pushed as `rest` is.
 */
function untilFinal(first: JobEvent, rest: EventStream<JobEvent>): EventStream<JobEvent> {
  let sentFirst = false;
  let finished = false;
  let last = first;
  const done = { value: undefined, done: true } as IteratorReturnResult<undefined>;
  const finish = async () => {
    finished = true;
    await rest.return?.();
  };
  /** Whether `event` is shown: within one run, events may arrive out of order across publishers. */
  const shown = (event: JobEvent) => {
    const sameRun = event.status === 'PROCESSING' && last.status === 'PROCESSING';
    if (sameRun && event.progress < last.progress) return false;
    last = event;
    return true;
  };
  const stream: EventStream<JobEvent> = {
    async next() {
      if (finished) return done;
      if (!sentFirst) {
        sentFirst = true;
        if (isFinalStatus(first.status)) await finish();
        return { value: first, done: false };
      }
      for (;;) {
        const step = await rest.next();
        if (step.done) return finish().then(() => done);
        const event = step.value;
        if (!shown(event)) continue;
        if (isFinalStatus(event.status)) await finish();
        return { value: event, done: false };
      }
    },
    async return() {
      await finish();
      return done;
    },
    listen(sink, end) {
      if (!sentFirst) {
        sentFirst = true;
        sink(first);
        if (isFinalStatus(first.status)) void finish();
      }
      if (finished) return end();
      // From here, ending `rest` (its final event, or return()) calls `end`.
      rest.listen((event) => {
        if (finished || !shown(event)) return;
        sink(event);
        if (isFinalStatus(event.status)) void finish();
      }, end);
    },
    [Symbol.asyncIterator]: () => stream,
  };
  return stream;
}
